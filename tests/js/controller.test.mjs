// The panel's flows (web/js/mend/controller.js) with a recording fake of the HTTP client.
import test from "node:test";
import assert from "node:assert/strict";
import { MendApiError } from "../../web/js/mend/client.js";
import { createController, fileNameFromUrl } from "../../web/js/mend/controller.js";
import { initialState, reduce } from "../../web/js/mend/state.js";
import { headline, itemStatus, viewModel } from "../../web/js/mend/view.js";
import { WORKFLOW, report } from "./fixtures.mjs";

function setup(overrides = {}, edit = (r) => r) {
  let state = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: edit(report()) });
  const calls = [];
  const applied = [];
  let taskSeq = 0;
  const client = {
    decide: async (d) => (calls.push(["decide", d]), { decision: d }),
    downloadModel: async (p) => (calls.push(["download", p]), { id: `t${++taskSeq}`, kind: "download", state: "queued", params: p }),
    installPack: async (p) => (calls.push(["install", p]), { id: `t${++taskSeq}`, kind: "install", state: "queued", params: p }),
    enablePack: async (p) => (calls.push(["enable", p]), { enabled: p.folder }),
    cancelTask: async (id) => (calls.push(["cancel", id]), { id, kind: "download", state: "cancelled" }),
    pauseTask: async (id) => (calls.push(["pause", id]), { id, kind: "download", state: "interrupted", interrupted_reason: "paused", resumable: true }),
    resumeTask: async (id) => (calls.push(["resume", id]), { id, kind: "download", state: "queued", resumable: true }),
    retryTask: async (id) => (calls.push(["retry", id]), { id, kind: "download", state: "queued" }),
    searchModels: async (q) => (calls.push(["search", q]), q.workflow ? report() : { candidates: [] }),
    tasks: async () => ({ tasks: [] }),
    ...overrides,
  };
  const modified = [];
  const controller = createController({
    client, getState: () => state, dispatch: (a) => (state = reduce(state, a)),
    applyModel: (item, value) => applied.push([item.node_id, value]), now: () => 0,
    markModified: () => modified.push(true),
  });
  return { controller, calls, applied, modified, get state() { return state; }, vm: () => viewModel(state) };
}

test("choosing a download candidate posts the decision, then starts the download", async () => {
  const t = setup();
  await t.controller.choose(t.vm().models[0], 0);
  assert.deepEqual(t.calls.map((c) => c[0]), ["decide", "download"]);
  // The body POST /mend/decisions takes (server_routes/decisions.py).
  assert.deepEqual(t.calls[0][1], { workflow: "workflows/demo.json", model: "4/ckpt_name", action: "candidate", candidate: 0 });
  assert.equal(t.calls[1][1].url, "https://huggingface.co/a/b/resolve/main/sdxl.safetensors");
  assert.equal(t.calls[1][1].folder, "checkpoints");
  assert.equal(t.vm().models[0].task.id, "t1");
  assert.deepEqual(t.state.pendingDecisions, {});
});

test("a finished download points the widget at the file, once", async () => {
  const t = setup();
  await t.controller.choose(t.vm().models[0], 0);
  t.controller.taskEvent({ id: "t1", kind: "download", state: "running", params: t.calls[1][1], progress: { done: 5, total: 10 } });
  assert.deepEqual(t.applied, []);
  const done = { id: "t1", kind: "download", state: "succeeded", params: t.calls[1][1], result: { relpath: "sdxl.safetensors" } };
  t.controller.taskEvent(done);
  t.controller.taskEvent(done);
  assert.deepEqual(t.applied, [["4", "sdxl.safetensors"]]);
});

test("choosing a local file applies it at once, without a task", async () => {
  const t = setup();
  await t.controller.choose(t.vm().models[1], 0);
  assert.deepEqual(t.calls.map((c) => c[0]), ["decide"]);
  assert.deepEqual(t.applied, [["12:9", "ink.safetensors"]]);
});

test("a failed decision is rolled back and starts nothing", async () => {
  const t = setup({ decide: async () => { throw new MendApiError(409, { error: { code: "manifest_corrupt", message: "bad toml" } }); } });
  await t.controller.choose(t.vm().models[0], 0);
  assert.deepEqual(t.calls, []);
  assert.deepEqual(t.state.decisions, {});
  assert.match(t.state.itemErrors["model:4/ckpt_name"], /bad toml/);
  assert.equal(itemStatus(t.vm().models[0]), "failed");
});

test("'Fix all certain' installs each pack once and downloads each certain model", async () => {
  const t = setup();
  await t.controller.fixAllCertain();
  const kinds = t.calls.map((c) => c[0]).sort();
  assert.deepEqual(kinds, ["decide", "decide", "download", "install"]);
  const install = t.calls.find((c) => c[0] === "install")[1];
  // The body POST /mend/nodes/install takes (server_routes/nodes.py).
  assert.deepEqual(install, { id: "comfyui-videohelpersuite", repository: "https://github.com/kosinkadink/comfyui-videohelpersuite", client_id: undefined });
});

test("installing a group decides every undecided type for that pack", async () => {
  const t = setup();
  await t.controller.installGroup(t.vm().nodeGroups[0]);
  const decided = t.calls.filter((c) => c[0] === "decide").map((c) => [c[1].node_type, c[1].candidate]);
  assert.deepEqual(decided, [["VHS_VideoCombine", 0], ["VHS_LoadVideo", 0]]);
  assert.deepEqual(t.calls.filter((c) => c[0] === "install").map((c) => c[1].id), ["comfyui-videohelpersuite"]); // once
});

test("a pasted URL downloads into the model's folder under the URL's file name", async () => {
  const t = setup();
  await t.controller.pasteUrl(t.vm().models[1], "https://civitai.example/api/files/Ink%20v2.safetensors?type=Model");
  const [decide, download] = t.calls;
  assert.deepEqual(decide[1], { workflow: "workflows/demo.json", model: "12:9/lora_name", action: "url",
    url: "https://civitai.example/api/files/Ink%20v2.safetensors?type=Model", folder: "loras", path: "style/Ink v2.safetensors" });
  assert.deepEqual([download[1].folder, download[1].relpath], ["loras", "style/Ink v2.safetensors"]);
  assert.equal(download[1].url, "https://civitai.example/api/files/Ink%20v2.safetensors?type=Model");
  // The item follows its download: progress, then "downloaded", then the widget names the new file.
  t.controller.taskEvent({ id: "t1", kind: "download", state: "running", params: download[1], progress: { done: 5, total: 10 } });
  assert.equal(itemStatus(t.vm().models[1]), "downloading");
  t.controller.taskEvent({ id: "t1", kind: "download", state: "completed", params: download[1], result: { relpath: "style/Ink v2.safetensors" } });
  assert.equal(itemStatus(t.vm().models[1]), "downloaded");
  assert.deepEqual(t.applied, [["12:9", "style/Ink v2.safetensors"]]);
  const bad = setup();
  await bad.controller.pasteUrl(bad.vm().models[1], "file:///etc/passwd");
  assert.deepEqual(bad.calls, []);
  assert.match(bad.state.itemErrors["model:12:9/lora_name"], /https/);
  assert.equal(fileNameFromUrl("not a url"), "");
});

test("a pickle download waits for a yes given in the panel, then is sent with confirm_pickle", async () => {
  const sent = [];
  const t = setup({
    downloadModel: async (p) => {
      sent.push(p);
      if (!p.confirm_pickle) throw new MendApiError(403, { error: { code: "confirmation_required", message: "send confirm_pickle: true" } });
      return { id: "t9", kind: "download", state: "queued", params: p };
    },
  });
  await t.controller.choose(t.vm().models[0], 0);
  assert.equal(itemStatus(t.vm().models[0]), "confirm");
  await t.controller.confirmDownload(t.vm().models[0]);
  assert.deepEqual(sent.map((p) => !!p.confirm_pickle), [false, true]);
  assert.equal(t.state.tasks.t9.state, "queued");
  assert.deepEqual(t.state.confirmations, {});
});

test("'Don't download' forgets the decision", async () => {
  const t = setup({ downloadModel: async () => { throw new MendApiError(403, { error: { code: "confirmation_required", message: "x" } }); } });
  await t.controller.choose(t.vm().models[0], 0);
  await t.controller.declineDownload(t.vm().models[0]);
  assert.deepEqual(t.state.decisions, {});
  assert.deepEqual(t.calls.at(-1)[1], { workflow: "workflows/demo.json", model: "4/ckpt_name", action: "undo" });
});

test("a failed start is an error at its item; Retry tries the same again", async () => {
  let fails = 1;
  const t = setup({ downloadModel: async (p) => {
    if (fails-- > 0) throw new MendApiError(403, { error: { code: "gated", message: "gated: accept the licence" } });
    return { id: "t2", kind: "download", state: "queued", params: p };
  } });
  await t.controller.choose(t.vm().models[0], 0);
  assert.match(t.vm().models[0].error, /licence/);
  assert.equal(t.state.error, null);
  await t.controller.retryItem(t.vm().models[0]);
  assert.equal(t.vm().models[0].error, null);
  assert.equal(t.vm().models[0].task.id, "t2");
  // A failed task is retried through its own route.
  t.controller.taskEvent({ id: "t2", kind: "download", state: "failed", params: t.state.tasks.t2.params, error: { message: "404" } });
  assert.equal(itemStatus(t.vm().models[0]), "failed");
  await t.controller.retryItem(t.vm().models[0]);
  assert.deepEqual(t.calls.at(-1), ["retry", "t2"]);
});

test("a decision the server wrote into the saved file is made in the open graph too, marked modified", async () => {
  const t = setup({ decide: async (d) => ({ decision: d, stored: { path: "ink.safetensors", status: "resolved" }, workflow_file_changed: true }) });
  await t.controller.choose(t.vm().models[1], 0);
  assert.deepEqual(t.applied, [["12:9", "ink.safetensors"], ["12:9", "ink.safetensors"]]);
  assert.equal(t.modified.length, 1);
});

test("Undo reopens an optional or skipped item", async () => {
  const t = setup();
  await t.controller.optional(t.vm().models[1]);
  assert.equal(itemStatus(t.vm().models[1]), "optional");
  await t.controller.undo(t.vm().models[1]);
  assert.equal(t.vm().models[1].decision, null);
  assert.deepEqual(t.calls.at(-1)[1], { workflow: "workflows/demo.json", model: "12:9/lora_name", action: "undo" });
});

test("pause, resume, clear finished; a background search fills in sizes", async () => {
  const t = setup({ tasks: async () => ({ tasks: [{ id: "x", kind: "download", state: "running", resumable: true, progress: { done: 1, total: 2 } },
    { id: "y", kind: "download", state: "completed" }] }) });
  await t.controller.loadTasks();
  await t.controller.pause("x");
  assert.equal(t.state.tasks.x.interruptedReason, "paused");
  await t.controller.resume("x");
  assert.equal(t.state.tasks.x.state, "queued");
  t.controller.clearFinished();
  assert.deepEqual(t.vm().tasks.map((r) => r.id), ["x"]);
  await t.controller.searchInBackground({ nodes: [] });
  assert.equal(t.state.searching, false);
  assert.deepEqual(t.calls.find((c) => c[0] === "search")[1], { workflow: { nodes: [] } });
});

test("optional and skip are decisions with no work", async () => {
  const t = setup();
  await t.controller.optional(t.vm().inactive[0]);
  await t.controller.skip(t.vm().models[1]);
  assert.deepEqual(t.calls.map((c) => [c[1].node_type ?? c[1].model, c[1].action]), [["Nobody_Knows", "optional"], ["12:9/lora_name", "skip"]]);
});

test("tasks are restored after a reload, and a cancel updates its row", async () => {
  const t = setup({ tasks: async () => ({ tasks: [{ id: "x", kind: "download", state: "running", progress: { done: 1, total: 2 } }] }) });
  await t.controller.loadTasks();
  assert.deepEqual(t.state.taskOrder, ["x"]);
  await t.controller.cancel("x");
  assert.equal(t.state.tasks.x.state, "cancelled");
});

test("the server's install plan is what Install posts, and a disabled pack is enabled instead", async () => {
  const plan = { source: "registry", label: "Comfy Registry: comfyui-videohelpersuite 1.7.9",
    body: { id: "comfyui-videohelpersuite", repository: "https://github.com/kosinkadink/comfyui-videohelpersuite", version: "1.7.9" } };
  const withPlan = (r) => (r.missing_nodes[0].candidates[0].install = plan, r);
  const t = setup({}, withPlan);
  assert.equal(t.vm().nodeGroups[0].install.label, "Comfy Registry: comfyui-videohelpersuite 1.7.9");
  await t.controller.installGroup(t.vm().nodeGroups[0]);
  assert.deepEqual(t.calls.find((c) => c[0] === "install")[1], { ...plan.body, client_id: undefined });
  const enable = { source: "enable", folder: "ComfyUI-VideoHelperSuite", label: "installed but disabled: enable ComfyUI-VideoHelperSuite" };
  const d = setup({}, (r) => (r.missing_nodes[0].candidates[0] = { ...r.missing_nodes[0].candidates[0], installed: true, install: enable }, r));
  await d.controller.choose(d.vm().nodeGroups[0].items[0], 0);
  assert.deepEqual(d.calls.filter((c) => c[0] !== "decide"), [["enable", { folder: "ComfyUI-VideoHelperSuite" }]]);
});

test("a pack that failed to import after the restart is shown with its error and rolls back", async () => {
  const failed = { folder: "ComfyUI-Broken", status: "import_failed", error: "boom", log: ["RuntimeError: boom"] };
  const t = setup({
    installedPacks: async () => ({ restart_required: false, import_checks: [failed, { folder: "Good", status: "loaded" }] }),
    rollbackPack: async (p) => (t.calls.push(["rollback", p]), { rolled_back: p.folder }),
  });
  await t.controller.loadRestartStatus();
  assert.deepEqual(t.vm().importFailures.map((f) => f.folder), ["ComfyUI-Broken"]);
  await t.controller.rollbackPack("ComfyUI-Broken");
  assert.deepEqual(t.calls.at(-1), ["rollback", { folder: "ComfyUI-Broken" }]);
  assert.deepEqual(t.vm().importFailures, []);
  assert.equal(t.state.restart, "required");
});

test("a pasted link its server says cannot work is named at the item, and nothing starts", async () => {
  const message = "files.example needs a login (HTTP 401) and Mend has no token for it: download the file in a browser";
  const t = setup({ decide: async () => { throw new MendApiError(422, { error: { code: "link_needs_login", message, probe: { outcome: "needs_login" } } }); } });
  await t.controller.pasteUrl(t.vm().models[0], "https://files.example/x.safetensors");
  assert.deepEqual(t.calls, []);
  assert.equal(t.state.itemErrors["model:4/ckpt_name"], message); // said as it is, no "could not save" prefix
  assert.equal(itemStatus(t.vm().models[0]), "failed");
});

test("a usable link's size and file name stay on the decision", async () => {
  const probe = { outcome: "usable", filename: "real.safetensors", size: 2_000_000_000, ranges: true, host: "files.example" };
  const t = setup({ decide: async (d) => ({ decision: d, probe }) });
  await t.controller.pasteUrl(t.vm().models[0], "https://files.example/x.safetensors");
  assert.deepEqual(t.state.decisions["model:4/ckpt_name"].probe, probe);
  assert.deepEqual(t.calls.map((c) => c[0]), ["download"]);
});

test("a second copy of a resolved workflow: its widgets are pointed at the decided files and the tab marked modified", async () => {
  // Tab 1 chose the local file for the LoRA and downloaded the checkpoint under another name.
  const first = setup();
  await first.controller.choose(first.vm().models[1], 0);
  await first.controller.pasteUrl(first.vm().models[0], "https://example.org/other.safetensors");
  const params = first.calls.find((c) => c[0] === "download")[1];
  first.controller.taskEvent({ id: "t1", kind: "download", state: "succeeded", params, result: { relpath: "other.safetensors" } });
  // The same graph id loaded again: the report still names the old files, the decisions and the task apply.
  let s = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: report() });
  s = reduce(s, { type: "decisions/loaded", decisions: Object.values(first.state.decisions) });
  s = reduce(s, { type: "task/event", task: first.state.tasks.t1, now: 0 });
  const applied = [];
  const modified = [];
  let current = s;
  const controller = createController({
    client: {}, getState: () => current, dispatch: (a) => (current = reduce(current, a)),
    applyModel: (item, value) => (applied.push([item.node_id, value]), true), markModified: () => modified.push(true),
  });
  assert.equal(viewModel(current).fixed, 2); // "2 fixed" is only true once the graph names those files
  await controller.applyDecided();
  assert.deepEqual(applied.sort(), [["12:9", "ink.safetensors"], ["4", "other.safetensors"]]);
  assert.equal(modified.length, 1);
  await controller.applyDecided(); // once per report
  assert.equal(applied.length, 2);
});

test("a decided item whose node cannot be pointed at its file counts as missing, not fixed", async () => {
  let current = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: report() });
  current = reduce(current, { type: "decisions/loaded", decisions: [{ kind: "model", key: "12:9/lora_name", action: "choose",
    candidate: 0, choice: report().missing_models[1].candidates[0] }] });
  const controller = createController({ client: {}, getState: () => current, dispatch: (a) => (current = reduce(current, a)),
    applyModel: () => null });
  await controller.applyDecided();
  const lora = viewModel(current).models[1];
  assert.equal(itemStatus(lora), "not applied");
  assert.equal(viewModel(current).fixed, 0);
  assert.match(headline(viewModel(current)), /2 models missing/);
});

test("'Clear finished' tidies rows but keeps failed ones; items keep what their tasks did (failed + Retry, downloaded)", async () => {
  const t = setup();
  await t.controller.installGroup(t.vm().nodeGroups[0]);
  await t.controller.choose(t.vm().models[0], 0);
  const [install, download] = ["install", "download"].map((k) => t.calls.find((c) => c[0] === k)[1]);
  t.controller.taskEvent({ id: "t1", kind: "install", state: "failed", params: install, error: { message: "git clone failed" } });
  t.controller.taskEvent({ id: "t2", kind: "download", state: "succeeded", params: download, result: { relpath: "sdxl.safetensors" } });
  const before = headline(t.vm());
  t.controller.clearFinished();
  assert.deepEqual(t.vm().tasks.map((r) => [r.id, r.state]), [["t1", "failed"]]);
  assert.equal(headline(t.vm()), before); // the header agrees with the server's tasks, as after a reload
  assert.ok(t.vm().nodeGroups[0].items.every((i) => itemStatus(i) === "failed"));
  assert.equal(itemStatus(t.vm().models[0]), "downloaded");
  await t.controller.retry("t1"); // runs again: its row is there
  assert.deepEqual(t.vm().tasks.map((r) => r.id), ["t1"]);
});

test("Search is a look-up: 'searching…' while it runs; nothing found or a hub out of reach is a hint, never 'failed'", async () => {
  let answer;
  const t = setup({ searchModels: () => new Promise((resolve, reject) => (answer = { resolve, reject })) });
  const lora = t.vm().models[1];
  const before = itemStatus(lora);
  const running = t.controller.searchItem(lora);
  assert.equal(itemStatus(t.vm().models[1]), "searching…");
  answer.reject(new MendApiError(502, { error: { code: "hub_unreachable", message: "Hugging Face look-up failed: ConnectError" } }));
  await running;
  const after = t.vm().models[1];
  assert.equal(itemStatus(after), before);
  assert.match(after.hint, /^Hub unreachable/);
  assert.equal(t.vm().failedCount, 0);
  const none = setup();
  await none.controller.searchItem(none.vm().models[1]);
  assert.match(none.vm().models[1].hint, /Nothing named ink\.safetensors on the hub/);
  assert.notEqual(itemStatus(none.vm().models[1]), "failed");
});

test("Use URL with an empty box says what to paste and posts nothing", async () => {
  const t = setup();
  await t.controller.pasteUrl(t.vm().models[1], "");
  assert.deepEqual(t.calls, []);
  assert.match(t.vm().models[1].hint, /Paste the file's download link/);
  await t.controller.pasteUrl(t.vm().models[1], "https://example.org/ink.safetensors");
  assert.equal(t.vm().models[1].hint, null); // a decision clears it
});

test("the folder picker offers model folders only (not custom_nodes, not configs)", async () => {
  const t = setup({ folders: async () => ["checkpoints", "custom_nodes", { name: "configs" }, "loras"] });
  await t.controller.loadFolders();
  assert.deepEqual(t.state.folders, ["checkpoints", "loras"]);
});

test("a pasted URL onto another file of that name is asked at the item; each answer is sent as on_existing", async () => {
  const existing = { folder: "loras", path: "style/Ink v2.safetensors", size: 1048576, same: false,
    why: "Mend cannot tell it is the same file (no sha256 known, not recorded from this URL)", suggested: "style/Ink v2-files.safetensors" };
  const url = "https://civitai.example/files/Ink%20v2.safetensors";
  for (const [choice, relpath, onExisting] of [["rename", "style/Ink v2-files.safetensors", undefined],
    ["keep", "style/Ink v2.safetensors", "keep"], ["replace", "style/Ink v2.safetensors", "replace"]]) {
    const t = setup({
      decide: async (d) => {
        t.calls.push(["decide", d]);
        if (!d.on_existing) throw new MendApiError(409, { error: { code: "file_exists", message: "already exists", existing } });
        return { decision: d, stored: { path: choice === "rename" ? existing.suggested : existing.path } };
      },
    });
    await t.controller.pasteUrl(t.vm().models[1], url);
    assert.deepEqual(t.calls.map((c) => c[0]), ["decide"]); // nothing downloaded, nothing stored
    const item = t.vm().models[1];
    assert.equal(itemStatus(item), "confirm");
    assert.equal(item.confirmation.question, "existing");
    assert.equal(item.confirmation.existing.suggested, existing.suggested);
    assert.equal(item.error, null);
    await t.controller.answerExisting(item, choice);
    assert.deepEqual(t.calls.map((c) => c[0]), ["decide", "decide", "download"]);
    assert.equal(t.calls[1][1].on_existing, choice);
    assert.deepEqual([t.calls[2][1].relpath, t.calls[2][1].on_existing], [relpath, onExisting]);
    assert.deepEqual(t.state.confirmations, {});
  }
  const c = setup({ decide: async () => { throw new MendApiError(409, { error: { code: "file_exists", message: "x", existing } }); } });
  await c.controller.pasteUrl(c.vm().models[1], url);
  c.controller.declineExisting(c.vm().models[1]);
  assert.deepEqual(c.state.confirmations, {});
  assert.deepEqual(c.state.decisions, {});
  assert.equal(c.calls.length, 0);
});

test("a download refused with file_exists is asked too, and sent again with the answer", async () => {
  const sent = [];
  const t = setup({
    downloadModel: async (p) => {
      sent.push(p);
      if (!p.on_existing) throw new MendApiError(409, { error: { code: "file_exists", message: "x", existing: { path: "sdxl.safetensors", suggested: "sdxl-b.safetensors" } } });
      return { id: "t7", kind: "download", state: "queued", params: p };
    },
  });
  await t.controller.choose(t.vm().models[0], 0);
  assert.equal(itemStatus(t.vm().models[0]), "confirm");
  await t.controller.answerExisting(t.vm().models[0], "replace");
  assert.deepEqual(sent.map((p) => p.on_existing), [undefined, "replace"]);
  assert.equal(t.state.tasks.t7.state, "queued");
});
