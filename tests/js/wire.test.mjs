// The server's JSON read and written in one place (web/js/mend/wire.js).
import test from "node:test";
import assert from "node:assert/strict";
import { decisionBody, decisionsFromServer, decisionsInReport, normaliseTask } from "../../web/js/mend/wire.js";
import { report } from "./fixtures.mjs";

test("a task as Task.to_json sends it: completed is success, the server's rate and ETA are used", () => {
  const t = normaliseTask({ id: "a", kind: "download", state: "completed", attempt: 2, seq: 7, params: { folder: "loras" },
    progress: { done: 10, total: 10, fraction: 1, bytes_per_second: 5.5, eta_seconds: 0, step: "verify", message: null } });
  assert.deepEqual([t.state, t.attempt, t.seq, t.progress.rate, t.progress.eta, t.progress.step], ["succeeded", 2, 7, 5.5, 0, "verify"]);
  assert.equal(normaliseTask({ id: "q", state: "queued", attempt: 0 }).attempt, 1); // not started yet: first attempt
});

test("decision bodies name the node type or model reference and the action as the route wants them", () => {
  const wf = { key: "portraits/flux.json" };
  assert.deepEqual(decisionBody({ kind: "node", key: "VHS_LoadVideo", action: "choose", candidate: 1 }, wf),
    { workflow: "portraits/flux.json", node_type: "VHS_LoadVideo", action: "candidate", candidate: 1 });
  assert.deepEqual(decisionBody({ kind: "model", key: "4/ckpt_name", action: "skip" }, wf),
    { workflow: "portraits/flux.json", model: "4/ckpt_name", action: "skip" });
  const unsaved = { key: "0b7d9d5e-8c55-4a65-9d4c-1b8f2f0c5d11", graph: { id: "0b7d9d5e-8c55-4a65-9d4c-1b8f2f0c5d11", nodes: [] } };
  assert.deepEqual(decisionBody({ kind: "model", key: "4/ckpt_name", action: "optional" }, unsaved).graph, unsaved.graph);
});

test("stored resolutions come back as the panel's decisions, matched to candidate indexes", () => {
  const body = {
    workflow: "demo.json",
    nodes: { VHS_LoadVideo: { status: "resolved", pack: "other-pack" }, Nobody_Knows: { status: "optional" },
      Gone: { status: "skipped" } },
    models: {
      "4/ckpt_name": { value: "sdxl.safetensors", folder: "checkpoints", path: "sdxl.safetensors", status: "pending_download",
        url: "https://huggingface.co/a/b/resolve/main/sdxl.safetensors", source: "workflow" },
      "12:9/lora_name": { folder: "loras", path: "mine.safetensors", status: "pending_download", url: "https://x.org/mine.safetensors", source: "url" },
    },
  };
  const out = decisionsFromServer(body, report());
  const by = Object.fromEntries(out.map((d) => [`${d.kind}:${d.key}`, d]));
  assert.deepEqual([by["node:VHS_LoadVideo"].action, by["node:VHS_LoadVideo"].candidate], ["choose", 1]);
  assert.equal(by["node:Nobody_Knows"].action, "optional");
  assert.equal(by["node:Gone"].action, "skip");
  assert.deepEqual([by["model:4/ckpt_name"].action, by["model:4/ckpt_name"].candidate], ["choose", 0]);
  assert.deepEqual([by["model:12:9/lora_name"].action, by["model:12:9/lora_name"].url, by["model:12:9/lora_name"].choice.relpath],
    ["url", "https://x.org/mine.safetensors", "mine.safetensors"]);
});

test("a pack no longer among the candidates still shows as chosen, by name", () => {
  const [d] = decisionsFromServer({ nodes: { VHS_LoadVideo: "some-renamed-pack" } }, report());
  assert.equal(d.candidate, null);
  assert.equal(d.choice.pack.id, "some-renamed-pack");
});

test("decisions carried by the analysis report are read too", () => {
  const r = report();
  r.missing_nodes[0].decision = { status: "resolved", pack: "comfyui-videohelpersuite" };
  r.missing_models[1].decision = { status: "resolved", folder: "checkpoints", path: "ink.safetensors" };
  const out = decisionsInReport(r);
  assert.deepEqual(out.map((d) => [d.key, d.action, d.candidate]), [["VHS_VideoCombine", "choose", 0], ["12:9/lora_name", "choose", 0]]);
});
