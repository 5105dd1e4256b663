// The panel's reducer (web/js/mend/state.js): state rebuilt from events, replayed without a browser.
import test from "node:test";
import assert from "node:assert/strict";
import { KEEP_FINISHED_PROMPTS, initialState, normaliseTask, reduce } from "../../web/js/mend/state.js";
import { WORKFLOW, report } from "./fixtures.mjs";

const replay = (actions, s = initialState()) => actions.reduce(reduce, s);
const download = (over = {}) => ({ id: "t1", kind: "download", state: "running", attempt: 1,
  params: { folder: "checkpoints", relpath: "sdxl.safetensors", key: "4/ckpt_name" }, progress: { done: 0, total: 1000 }, ...over });

test("an analysis replaces the report; a new workflow forgets the old decisions", () => {
  let s = replay([
    { type: "analysis/start", workflow: WORKFLOW },
    { type: "analysis/done", workflow: WORKFLOW, report: report() },
    { type: "decision/made", decision: { kind: "model", key: "4/ckpt_name", action: "skip" } },
  ]);
  assert.equal(s.analyzing, false);
  assert.equal(s.reportSeq, 1);
  assert.deepEqual(Object.keys(s.decisions), ["model:4/ckpt_name"]);
  s = reduce(s, { type: "analysis/done", workflow: WORKFLOW, report: report() });
  assert.deepEqual(Object.keys(s.decisions), ["model:4/ckpt_name"]); // same workflow: kept
  s = reduce(s, { type: "analysis/done", workflow: { key: "other.json", name: "other.json" }, report: report() });
  assert.deepEqual(s.decisions, {});
  const failed = reduce(s, { type: "analysis/error", error: "boom", code: "analysis_too_long" });
  assert.deepEqual(failed.analysisError, { message: "boom", code: "analysis_too_long" }); // shown with Retry
  assert.equal(failed.error, null);
  assert.equal(reduce(failed, { type: "analysis/start", workflow: WORKFLOW }).analysisError, null);
});

test("a decision is shown at once, confirmed when saved, rolled back when the POST fails", () => {
  const first = { kind: "node", key: "VHS_LoadVideo", action: "choose", candidate: 0 };
  const second = { kind: "node", key: "VHS_LoadVideo", action: "choose", candidate: 1 };
  let s = replay([{ type: "decision/made", decision: first }, { type: "decision/saved", decision: first }]);
  assert.deepEqual(s.pendingDecisions, {});
  s = reduce(s, { type: "decision/made", decision: second });
  assert.equal(s.decisions["node:VHS_LoadVideo"].candidate, 1);
  assert.equal(s.pendingDecisions["node:VHS_LoadVideo"], true);
  s = reduce(s, { type: "decision/failed", decision: second, previous: first, error: "nope" });
  assert.equal(s.decisions["node:VHS_LoadVideo"].candidate, 0);
  assert.equal(s.itemErrors["node:VHS_LoadVideo"], "nope"); // at its item, not at the top of the panel
  assert.equal(s.error, null);
  const loaded = reduce(s, { type: "decisions/loaded", decisions: [{ kind: "model", key: "4/ckpt_name", action: "optional" }] });
  assert.deepEqual(Object.keys(loaded.decisions), ["model:4/ckpt_name"]);
});

test("task events update one row each, with a rate measured from the events' times", () => {
  const s = replay([
    { type: "task/event", task: download(), now: 0 },
    { type: "task/event", task: download({ progress: { done: 100, total: 1000 } }), now: 1000 },
    { type: "task/event", task: { ...download(), id: "t2", params: {} }, now: 1000 },
  ]);
  assert.deepEqual(s.taskOrder, ["t1", "t2"]);
  assert.equal(s.tasks.t1.progress.done, 100);
  assert.equal(s.rates.t1.rate, 100);
});

test("a late running event never moves a finished task back; a retry (next attempt) does", () => {
  let s = replay([
    { type: "task/event", task: download({ state: "succeeded", progress: { done: 1000, total: 1000 } }), now: 5 },
    { type: "task/event", task: download({ progress: { done: 900, total: 1000 } }), now: 4 },
  ]);
  assert.equal(s.tasks.t1.state, "succeeded");
  assert.equal(s.rates.t1, undefined);
  s = reduce(s, { type: "task/event", task: download({ state: "queued", attempt: 2 }), now: 6 });
  assert.equal(s.tasks.t1.state, "queued");
  assert.equal(s.tasks.t1.attempt, 2);
});

test("a snapshot after a reload restores every task, and the restart banner only when the server says so", () => {
  const tasks = [download({ state: "failed", error: { message: "hash mismatch" } }),
    { id: "i1", kind: "install", state: "succeeded", params: { pack: "vhs" } }];
  let s = reduce(initialState(), { type: "tasks/loaded", tasks, now: 0 });
  assert.deepEqual(s.taskOrder, ["t1", "i1"]);
  assert.equal(s.restart, "none");
  s = reduce(initialState(), { type: "tasks/loaded", tasks, now: 0, restartRequired: true });
  assert.equal(s.restart, "required");
});

test("a finished install asks for a restart; restarting clears it on reconnect", () => {
  let s = replay([
    { type: "task/event", task: { id: "i1", kind: "install", state: "running" }, now: 0 },
    { type: "task/event", task: { id: "i1", kind: "install", state: "succeeded", result: {} }, now: 1 },
  ]);
  assert.equal(s.restart, "required");
  s = replay([{ type: "restart/started" }, { type: "restart/done" }], s);
  assert.equal(s.restart, "none");
  const noRestart = reduce(initialState(), { type: "task/event", task: { id: "d", kind: "download", state: "succeeded" }, now: 0 });
  assert.equal(noRestart.restart, "none");
});

test("the server's task JSON is read in one place (state names and progress fields)", () => {
  const t = normaliseTask({ id: 7, kind: "download", status: "completed", done: 5, total: 9 });
  assert.equal(t.id, "7");
  assert.equal(t.state, "succeeded");
  assert.deepEqual([t.progress.done, t.progress.total], [5, 9]);
});

test("a tab keeps its own prompts' progress text only, whatever reaches it", () => {
  const s = replay([
    { type: "prompt/queued", prompt_id: "pA", workflow: "a.json" },
    { type: "execution/start", prompt_id: "pA" },
    { type: "execution/progress", prompt_id: "pA", value: 3, max: 20, node: "5" },
    { type: "progress_text", prompt_id: "pA", node_id: "5", display_node_id: "5", text: "step 3", scope: "client" },
    // another tab's prompt, same node id: a broadcast (API-only prompt) or a copy from an older Mend
    { type: "progress_text", prompt_id: "pB", node_id: "5", display_node_id: "5", text: "other tab's text", scope: "broadcast" },
    { type: "progress_text", prompt_id: "pX", node_id: "2", display_node_id: "2", text: "no scope" },
  ]);
  assert.equal(s.prompts.pA.workflow, "a.json");
  assert.equal(s.prompts.pA.own, true);
  assert.deepEqual(s.prompts.pA.texts, { 5: "step 3" });
  assert.deepEqual(s.promptOrder, ["pA"]); // nothing kept of pB and pX
  const ended = reduce(s, { type: "execution/end", prompt_id: "pA", status: "success" });
  assert.equal(ended.prompts.pA.status, "success");
  assert.equal(reduce(s, { type: "execution/end", prompt_id: "nobody" }), s);
});

test("a twin sent to this client makes the prompt this tab's even before it was seen queued", () => {
  const s = replay([{ type: "progress_text", prompt_id: "pR", node_id: "1", text: "after a reload", scope: "client" }]);
  assert.equal(s.prompts.pR.own, true);
  assert.deepEqual(s.prompts.pR.texts, { 1: "after a reload" });
});

test("with all clients followed, others' prompts are kept apart as not own; switching off drops them", () => {
  let s = replay([
    { type: "prompt/queued", prompt_id: "pA", workflow: "a.json" },
    { type: "jobs/follow_all", on: true },
    { type: "progress_text", prompt_id: "pB", node_id: "1", display_node_id: "1", text: "b: 40%", scope: "follow" },
    { type: "progress_text", prompt_id: "pA", node_id: "1", display_node_id: "1", text: "a: 10%", scope: "client" },
  ]);
  assert.equal(s.prompts.pB.own, false);
  assert.deepEqual(s.prompts.pB.texts, { 1: "b: 40%" });
  assert.deepEqual(s.prompts.pA.texts, { 1: "a: 10%" }); // same node id, never mixed
  s = reduce(s, { type: "jobs/follow_all", on: false });
  assert.equal(s.followAll, false);
  assert.deepEqual(s.promptOrder, ["pA"]);
});

test("the queue snapshot knows this tab's prompts by client id and closes those no longer queued", () => {
  let s = replay([{ type: "prompt/queued", prompt_id: "pA", workflow: "a.json" }, { type: "execution/start", prompt_id: "pA" }]);
  s = reduce(s, { type: "queue/snapshot", running: ["pC"], pending: ["pD", "pE"], mine: ["pE"] });
  assert.equal(s.prompts.pA.status, "done");
  assert.equal(s.prompts.pC, undefined); // another client's: not kept unless following all
  assert.equal(s.prompts.pE.own, true);
  s = reduce(reduce(s, { type: "jobs/follow_all", on: true }), { type: "queue/snapshot", running: ["pC"], pending: ["pD"], mine: [] });
  assert.equal(s.prompts.pC.status, "running");
  assert.equal(s.prompts.pC.own, false);
  assert.equal(s.prompts.pD.status, "queued");
});

test("only the last few finished prompts are kept", () => {
  const actions = [];
  for (let i = 0; i < KEEP_FINISHED_PROMPTS + 3; i++) {
    actions.push({ type: "prompt/queued", prompt_id: `p${i}`, workflow: "w" }, { type: "execution/end", prompt_id: `p${i}`, status: "success" });
  }
  actions.push({ type: "prompt/queued", prompt_id: "live", workflow: "w" });
  const s = replay(actions);
  assert.equal(s.promptOrder.length, KEEP_FINISHED_PROMPTS + 1);
  assert.equal(s.promptOrder.at(-1), "live");
  assert.equal(s.prompts.p0, undefined);
});

test("unknown actions change nothing", () => {
  const s = initialState();
  assert.equal(reduce(s, { type: "nope" }), s);
});

test("analysing the same workflow again keeps what the last search found, for the same files only", () => {
  let s = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: report() });
  const searched = report();
  searched.missing_models[0].candidates = [{ ...searched.missing_models[0].candidates[0], size: 123, verified: true }];
  s = reduce(s, { type: "search/done", reportSeq: s.reportSeq, report: { ...searched, search: { searched: 2 } } });
  const again = report();
  again.missing_models[1] = { ...again.missing_models[1], value: "other.safetensors" };
  s = reduce(s, { type: "analysis/done", workflow: s.workflow, report: again });
  assert.equal(s.report.missing_models[0].candidates[0].size, 123);
  assert.equal(s.report.missing_models[1].value, "other.safetensors");
});
