// What the panel shows (web/js/mend/view.js): groups, certain items, linked tasks, rows.
import test from "node:test";
import assert from "node:assert/strict";
import { initialState, reduce } from "../../web/js/mend/state.js";
import { groupNodes, headline, itemStatus, jobRows, noSourceText, taskRow, viewModel } from "../../web/js/mend/view.js";
import { normaliseTask } from "../../web/js/mend/state.js";
import { WORKFLOW, report } from "./fixtures.mjs";

const analysed = () => reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: report() });

test("missing node types are grouped by the pack that provides them; inactive ones are shown apart", () => {
  const vm = viewModel(analysed());
  assert.deepEqual(vm.nodeGroups.map((g) => [g.key, g.items.map((i) => i.type)]), [
    ["comfyui-videohelpersuite", ["VHS_VideoCombine", "VHS_LoadVideo"]],
  ]);
  assert.deepEqual(vm.inactive.map((i) => i.id), ["node:Nobody_Knows"]);
  assert.equal(vm.total, 5);
  assert.equal(vm.openCount, 5);
  const noPack = groupNodes([{ ...vm.inactive[0], inactive: false }, ...vm.nodeGroups[0].items]);
  assert.deepEqual(noPack.map((g) => g.key), ["comfyui-videohelpersuite", ""]); // unknown ones last
});

test("a decision moves a node type to the pack that was chosen", () => {
  const s = reduce(analysed(), { type: "decision/made", decision: { kind: "node", key: "VHS_LoadVideo", action: "choose", candidate: 1 } });
  const groups = groupNodes(viewModel(s).nodeGroups.flatMap((g) => g.items));
  assert.deepEqual(groups.map((g) => g.key), ["comfyui-videohelpersuite", "other-pack"]);
});

test("'Fix all certain' takes the auto items that are not decided yet", () => {
  let vm = viewModel(analysed());
  assert.deepEqual(vm.certain.map((i) => i.id), ["node:VHS_VideoCombine", "model:4/ckpt_name"]);
  const s = reduce(analysed(), { type: "decision/made", decision: { kind: "model", key: "4/ckpt_name", action: "skip" } });
  vm = viewModel(s);
  assert.deepEqual(vm.certain.map((i) => i.id), ["node:VHS_VideoCombine"]);
  assert.equal(vm.openCount, 4);
});

test("a download task is linked to the model it fetches, and the item's status follows it", () => {
  let s = reduce(analysed(), { type: "decision/made", decision: { kind: "model", key: "4/ckpt_name", action: "choose", candidate: 0 } });
  let model = viewModel(s).models[0];
  assert.equal(itemStatus(model), "chosen");
  s = reduce(s, { type: "task/event", now: 0, task: { id: "d1", kind: "download", state: "running",
    params: { folder: "checkpoints", relpath: "sdxl.safetensors", url: "https://x" }, progress: { done: 1, total: 10 } } });
  model = viewModel(s).models[0];
  assert.equal(model.task.id, "d1");
  assert.equal(itemStatus(model), "downloading");
  s = reduce(s, { type: "task/event", now: 1, task: { id: "d1", kind: "download", state: "succeeded", params: { folder: "checkpoints", relpath: "sdxl.safetensors" } } });
  assert.equal(itemStatus(viewModel(s).models[0]), "downloaded");
  assert.equal(viewModel(s).models[1].task, null); // the other model is not touched by it
});

test("an install task is linked to the node types of its pack", () => {
  let s = reduce(analysed(), { type: "decision/made", decision: { kind: "node", key: "VHS_VideoCombine", action: "choose", candidate: 0 } });
  s = reduce(s, { type: "task/event", now: 0, task: { id: "i1", kind: "install", state: "running", params: { pack: "comfyui-videohelpersuite" } } });
  const [combine, load] = viewModel(s).nodeGroups[0].items;
  assert.equal(itemStatus(combine), "installing");
  assert.equal(load.task, null); // not decided: the pack may still be another one
  assert.equal(itemStatus(load), "choose");
});

test("statuses of undecided and decided items", () => {
  const vm = viewModel(analysed());
  const unknown = vm.inactive[0];
  assert.equal(itemStatus(unknown), "no source");
  assert.equal(itemStatus(vm.models[0]), "certain");
  assert.equal(itemStatus({ ...vm.models[1], decision: { action: "choose", candidate: 0 } }), "uses local file");
  assert.equal(itemStatus({ ...vm.models[1], decision: { action: "optional" } }), "optional");
  assert.equal(itemStatus({ ...vm.models[1], decision: { action: "url", url: "https://x/y" } }), "URL");
});

test("a running download row shows bytes, rate, ETA and attempt in fixed formats", () => {
  const task = normaliseTask({ id: "d", kind: "download", state: "running", attempt: 2, max_attempts: 5,
    params: { folder: "checkpoints", relpath: "a.safetensors" }, progress: { done: 500_000_000, total: 2_000_000_000 } });
  const row = taskRow(task, { rate: 50_000_000 });
  assert.deepEqual(
    [row.label, row.percent, row.bytes, row.rate, row.eta, row.attempt, row.canCancel, row.canRetry],
    ["a.safetensors · checkpoints", "25.0%", "500 MB / 2.00 GB", "50.0 MB/s", "30 s", "attempt 2 of 5", true, false]);
  // A download without a known total still shows units; an install shows steps, never raw numbers.
  const open = taskRow(normaliseTask({ id: "o", kind: "download", state: "running", progress: { done: 74_000_000 } }));
  assert.equal(open.bytes, "74.0 MB / —");
  const install = taskRow(normaliseTask({ id: "i", kind: "install", state: "running", progress: { done: 2, total: 5 } }));
  assert.equal(install.bytes, "step 2 of 5");
});

test("finished, failed and unsized task rows", () => {
  const done = taskRow(normaliseTask({ id: "d", kind: "download", state: "succeeded", progress: { done: 10, total: 10 } }));
  assert.equal(done.fraction, 1);
  assert.equal(done.eta, "");
  assert.equal(done.canCancel, false);
  const failed = taskRow(normaliseTask({ id: "f", kind: "install", state: "failed", params: { pack: "vhs" }, error: { message: "pip failed" } }));
  assert.deepEqual([failed.label, failed.message, failed.canRetry, failed.canCancel], ["vhs", "pip failed", true, false]);
  const unsized = taskRow(normaliseTask({ id: "u", kind: "install", state: "running", progress: { message: "cloning" } }));
  assert.equal(unsized.indeterminate, true);
  assert.equal(unsized.message, "cloning");
});

test("jobs: running first, then queued, then finished; other clients' prompts only when following all", () => {
  let s = initialState();
  for (const a of [
    { type: "prompt/queued", prompt_id: "old", workflow: "a.json" },
    { type: "execution/end", prompt_id: "old", status: "success" },
    { type: "prompt/queued", prompt_id: "wait", workflow: "b.json" },
    { type: "execution/start", prompt_id: "run" },
    { type: "execution/progress", prompt_id: "run", value: 5, max: 20, node: "3" },
    { type: "progress_text", prompt_id: "theirs", node_id: "3", text: "not mine", scope: "broadcast" },
    { type: "execution/progress", prompt_id: "theirs", value: 1, max: 2, node: "3" }, // API-only: every tab gets it
  ]) s = reduce(s, a);
  const rows = jobRows(s);
  assert.deepEqual(rows.map((r) => [r.id, r.status, r.own]), [["run", "running", true], ["wait", "queued", true], ["old", "success", true]]);
  assert.equal(rows[0].fraction, 0.25);
  assert.equal(rows[0].steps, "5 / 20");
  assert.equal(rows[0].workflow, "this tab"); // seen running after a reload, before its workflow was known
  assert.equal(rows[2].fraction, 1);
  s = reduce(reduce(s, { type: "jobs/follow_all", on: true }),
    { type: "progress_text", prompt_id: "theirs", node_id: "3", text: "still not mine", scope: "follow" });
  const theirs = jobRows(s).find((r) => r.id === "theirs");
  assert.deepEqual([theirs.own, theirs.readOnly, theirs.workflow], [false, true, "another tab or client"]);
  assert.deepEqual(theirs.texts, [{ node: "3", text: "still not mine" }]);
  assert.equal(viewModel(s).followAll, true);
});

test("the message line says why a task failed, which step runs, or what a finished one verified", () => {
  const row = (raw) => taskRow(normaliseTask({ id: "x", kind: "download", ...raw })).message;
  assert.equal(row({ state: "running", progress: { step: "download" } }), "step: download");
  assert.equal(row({ state: "failed", error: { message: "hash mismatch" }, progress: { step: "verify" } }), "hash mismatch");
  assert.equal(row({ state: "completed", result: { verified: true, sha256: "673c4cc356efc01a749d" } }), "verified · sha256 673c4cc356ef…");
  assert.equal(row({ state: "queued", retry_at: 123 }), "waiting to retry");
});

test("the headline stops counting a model once its download finished, and says when all is fixed", () => {
  let s = reduce(analysed(), { type: "decision/made", decision: { kind: "model", key: "4/ckpt_name", action: "choose", candidate: 0 } });
  assert.equal(headline(viewModel(s)), "2 node types, 2 models missing · 1 not blocking · 4 to decide");
  s = reduce(s, { type: "task/event", now: 1, task: { id: "d1", kind: "download", state: "succeeded",
    params: { folder: "checkpoints", relpath: "sdxl.safetensors" } } });
  const vm = viewModel(s);
  assert.equal(vm.fixed, 1);
  assert.equal(headline(vm), "2 node types, 1 model missing · 1 not blocking · 1 fixed · 4 to decide");
  assert.equal(headline({ ...vm, fixed: vm.total }), `All ${vm.total} fixed.`);
  assert.equal(headline({ ...vm, analyzing: true }), "Analysing…");
});

test("a paused download offers Resume and Cancel; a running resumable one offers Pause", () => {
  const running = taskRow(normaliseTask({ id: "d", kind: "download", state: "running", resumable: true, progress: { done: 1, total: 2 } }));
  assert.deepEqual([running.canPause, running.canResume, running.canCancel, running.canRetry], [true, false, true, false]);
  const paused = taskRow(normaliseTask({ id: "d", kind: "download", state: "interrupted", interrupted_reason: "paused",
    resumable: true, progress: { done: 1, total: 2 } }));
  assert.deepEqual([paused.stateText, paused.canPause, paused.canResume, paused.canCancel], ["paused", false, true, true]);
  assert.match(paused.message, /part is kept/);
});

test("one file used by two nodes is one item listing both; bypassed-only files are not blocking", () => {
  const r = report();
  const twin = { ...r.missing_models[0], key: "12:4/ckpt_name", node_id: "12:4" };
  const muted = { ...r.missing_models[1], key: "9/lora_name", node_id: "9", value: "gone.safetensors", mode: 4, auto: true,
    candidates: [{ kind: "download", reason: "workflow_metadata", confidence: 0.9, folder: "loras", relpath: "gone.safetensors", url: "https://h/x" }] };
  const s = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: { ...r, missing_models: [...r.missing_models, twin, muted] } });
  const vm = viewModel(s);
  assert.deepEqual(vm.models.map((m) => [m.id, m.node_ids]), [["model:4/ckpt_name", ["4", "12:4"]], ["model:12:9/lora_name", ["12:9"]]]);
  assert.deepEqual(vm.inactive.map((i) => i.id), ["node:Nobody_Knows", "model:9/lora_name"]);
  assert.deepEqual(vm.certain.map((i) => i.id), ["node:VHS_VideoCombine", "model:4/ckpt_name"]); // not the bypassed one
  const asked = viewModel(reduce(s, { type: "option/include_inactive", value: true }));
  assert.deepEqual(asked.certain.map((i) => i.id), ["node:VHS_VideoCombine", "model:4/ckpt_name", "model:9/lora_name"]);
});

test("a model whose loader is a missing node waits for its pack; a guessed folder can be picked", () => {
  const r = report();
  const ip = { key: "20/ipadapter_file", node_id: "20", node_type: "VHS_LoadVideo", input: null, widget_index: 0,
    value: "ip-adapter_sd15.safetensors", folder: "checkpoints", folder_source: "guess", status: "ambiguous", auto: false, candidates: [] };
  let s = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: { ...r, missing_models: [...r.missing_models, ip] } });
  s = reduce(s, { type: "folders/loaded", folders: ["checkpoints", "loras", "ipadapter"] });
  let item = viewModel(s).models.find((m) => m.key === "20/ipadapter_file");
  assert.equal(itemStatus(item), "waits for pack");
  assert.equal(item.waitsFor.pack.id, "comfyui-videohelpersuite");
  s = reduce(s, { type: "folder/picked", id: item.id, folder: "ipadapter" });
  item = viewModel(s).models.find((m) => m.key === "20/ipadapter_file");
  assert.equal(item.waitsFor, null);
  assert.equal(item.picked, "ipadapter");
});

test("a gated or gone link is never certain; a search result keeps the server's candidate index", () => {
  let s = analysed();
  const searched = report();
  searched.missing_models[0].candidates = [
    { kind: "download", reason: "huggingface", confidence: 0.75, folder: "checkpoints", relpath: "sdxl.safetensors", url: "https://huggingface.co/o/r/resolve/main/sdxl.safetensors", size: 5 },
    { ...searched.missing_models[0].candidates[0], reason: "gated", confidence: 0.6, gated: true },
  ];
  s = reduce(s, { type: "search/done", reportSeq: s.reportSeq, report: searched });
  const item = viewModel(s).models[0];
  assert.deepEqual(item.candidates.map((c) => c.server_index), [null, 0]);
  assert.equal(itemStatus({ ...item, candidates: [item.candidates[1]] }), "gated");
  assert.ok(!viewModel(s).certain.some((i) => i.id === item.id) || item.candidates[0].reason !== "gated");
  // A search answering an older analysis is dropped.
  const stale = reduce(s, { type: "search/done", reportSeq: -5, report: report() });
  assert.equal(stale.report, s.report);
});

test("the server's model_files make the items: one per file, its nodes and marks, bypassed ones apart", () => {
  const r = report();
  const twin = { ...r.missing_models[0], key: "12:4/ckpt_name", node_id: "12:4", mode: 4, mark: "bypassed" };
  const node = (m) => ({ key: m.key, node_id: m.node_id, node_type: m.node_type, input: m.input, widget_index: 0,
    mode: m.mode ?? 0, mark: m.mark ?? null });
  const files = [
    { file: "checkpoints/sdxl.safetensors", nodes: [node(twin), node(r.missing_models[0])], mark: null, inactive: false },
    { file: "loras/style/ink.safetensors", nodes: [{ ...node(r.missing_models[1]), mode: 4, mark: "bypassed" }], mark: "bypassed", inactive: true },
  ];
  const s = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW,
    report: { ...r, missing_models: [...r.missing_models, twin], model_files: files } });
  const vm = viewModel(s);
  assert.deepEqual(vm.models.map((m) => [m.key, m.node_ids]), [["4/ckpt_name", ["12:4", "4"]]]); // the one that runs leads
  const bypassed = vm.inactive.find((i) => i.kind === "model");
  assert.deepEqual([bypassed.key, bypassed.mark], ["12:9/lora_name", "bypassed"]);
  assert.equal(vm.blockingCount, 3);
});

test("a file the loader's pack fetches on first use is listed apart; a folder from the node's name is a guess", () => {
  const r = report();
  const rife = { key: "30/#0", node_id: "30", node_type: "RIFE VFI", input: null, widget_index: 0, value: "rife49.pth",
    folder: null, folder_source: "unknown", fetched_by_pack: true, status: "unknown", auto: false, candidates: [] };
  const lora = { key: "31/#0", node_id: "31", node_type: "CR LoRA Stack", input: null, widget_index: 0,
    value: "style.safetensors", folder: "loras", folder_source: "node_hint", status: "unknown", auto: false, candidates: [] };
  const node = (m) => ({ key: m.key, node_id: m.node_id, node_type: m.node_type, input: null, widget_index: 0, mode: 0, mark: null });
  const files = [
    { file: "?/rife49.pth", nodes: [node(rife)], mark: null, inactive: false, fetched_by_pack: true, blocking: false },
    { file: "loras/style.safetensors", nodes: [node(lora)], mark: null, inactive: false, fetched_by_pack: false },
  ];
  const s = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW,
    report: { ...r, missing_models: [rife, lora], model_files: files } });
  const vm = viewModel(s);
  assert.deepEqual(vm.models.map((m) => [m.key, m.guessed]), [["31/#0", true]]);
  const fetched = vm.inactive.find((i) => i.kind === "model");
  assert.deepEqual([fetched.key, fetched.fetchedByPack], ["30/#0", true]);
});

test("a workflow link whose server said it cannot work is never certain and names the problem", () => {
  const r = report();
  const first = r.missing_models[0].candidates[0];
  Object.assign(first, { reason: "link_problem", was: first.reason, probe: { outcome: "needs_login", message: "login" } });
  const s = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: r });
  const model = viewModel(s).models[0];
  assert.equal(model.key, "4/ckpt_name");
  assert.equal(itemStatus(model), "needs login");
  assert.ok(!viewModel(s).certain.includes(model));
});

test("a paused download that runs again says 'resumed', a retried one 'attempt 2'; a prompt that succeeded ran every step", () => {
  let s = initialState();
  const ev = (task) => (s = reduce(s, { type: "task/event", task: { kind: "download", resumable: true, ...task }, now: 0 }));
  ev({ id: "p", state: "running", attempt: 1 });
  ev({ id: "p", state: "interrupted", interrupted_reason: "paused", attempt: 1 });
  ev({ id: "p", state: "queued", attempt: 1 });
  ev({ id: "p", state: "running", attempt: 2 });
  assert.equal(taskRow(s.tasks.p).attempt, "resumed");
  ev({ id: "p", state: "succeeded", attempt: 2 });
  assert.equal(taskRow(s.tasks.p).attempt, "resumed");
  ev({ id: "r", state: "failed", attempt: 1 });
  ev({ id: "r", state: "running", attempt: 2 });
  assert.equal(taskRow(s.tasks.r).attempt, "attempt 2");
  s = reduce(s, { type: "prompt/queued", prompt_id: "q", workflow: "w" });
  s = reduce(s, { type: "execution/progress", prompt_id: "q", value: 0, max: 1, node: "3" });
  s = reduce(s, { type: "execution/end", prompt_id: "q", status: "success" });
  assert.equal(jobRows(s)[0].steps, "1 / 1");
});

test("an item without candidates says why: its link, a look-up, a hub out of reach, or nothing known", () => {
  assert.equal(noSourceText({ decision: { action: "url", url: "https://x/a.safetensors" } }), "From your link: https://x/a.safetensors");
  assert.equal(noSourceText({ lookingUp: true }), "Searching Hugging Face…");
  assert.match(noSourceText({ search_errors: ["Hugging Face look-up failed: ConnectError"] }), /^The hub could not be asked.*ConnectError.*not "nothing found"/);
  assert.match(noSourceText({}), /^No source known/);
});
