// POST /mend/analyze on a busy server (429 + Retry-After) is asked again, counting down; a named
// error (413 analysis_too_long, ...) is said plainly, with Retry (web/js/mend/controller.js).
import test from "node:test";
import assert from "node:assert/strict";
import { MendApiError, createClient, retryAfterSeconds } from "../../web/js/mend/client.js";
import { BUSY_TRIES, BUSY_WAIT_CAP_S, busyDelaySeconds } from "../../web/js/mend/busy.js";
import { createController } from "../../web/js/mend/controller.js";
import { analysisErrorText } from "../../web/js/mend/messages.js";
import { initialState, reduce } from "../../web/js/mend/state.js";
import { headline, viewModel } from "../../web/js/mend/view.js";
import { WORKFLOW, report } from "./fixtures.mjs";

const busy = (retryAfter) => new MendApiError(429, { error: { code: "too_many_requests", message: "2 analyses are running" } }, retryAfter);

/** A controller whose client answers from `answers` in turn; `sleep` records each wait and runs `onSleep`. */
function setup(answers, onSleep = () => null) {
  let state = initialState();
  const seen = [];
  const slept = [];
  const client = {
    analyze: async () => {
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const controller = createController({
    client, getState: () => state, now: () => 0,
    dispatch: (a) => { state = reduce(state, a); if (a.type === "analysis/busy") seen.push(viewModel(state).busy); },
    sleep: async (ms) => { slept.push(ms); await onSleep(slept.length); },
  });
  return { controller, seen, slept, get state() { return state; } };
}

test("a 429 is asked again after its Retry-After, counting down second by second, then the report comes", async () => {
  const t = setup([busy(3), report()]);
  const got = await t.controller.analyze({}, WORKFLOW);
  assert.equal(got.format, "ui");
  assert.deepEqual(t.seen.map((b) => b.seconds), [3, 2, 1, 0]);
  assert.deepEqual(t.slept, [1000, 1000, 1000]);
  assert.equal(t.seen[0].attempt, 1);
  assert.equal(t.state.busy, null);
  assert.equal(t.state.analysisError, null);
  assert.equal(t.state.reportSeq, 1);
});

test("a long Retry-After is capped; a missing one waits a little", () => {
  assert.equal(busyDelaySeconds(3600, BUSY_WAIT_CAP_S), BUSY_WAIT_CAP_S);
  assert.equal(busyDelaySeconds(null, BUSY_WAIT_CAP_S), 2);
  assert.equal(busyDelaySeconds(0, BUSY_WAIT_CAP_S), 1);
  assert.equal(retryAfterSeconds("7"), 7);
  assert.equal(retryAfterSeconds(""), null);
  assert.equal(retryAfterSeconds("Wed, 21 Oct 2015 07:28:10 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT")), 10);
  assert.equal(retryAfterSeconds("soon"), null);
});

test("the client reads Retry-After from the 429's headers", async () => {
  const client = createClient(async () => ({
    ok: false, status: 429, headers: new Headers({ "Retry-After": "4" }),
    text: async () => JSON.stringify({ error: { code: "too_many_requests", message: "busy" } }),
  }));
  await assert.rejects(client.analyze({}), (e) => e.status === 429 && e.retryAfter === 4 && e.code === "too_many_requests");
});

test("Stop ends the waiting: no more asks, the panel says so and offers Retry", async () => {
  let t;
  t = setup([busy(5), report()], (n) => n === 2 && t.controller.stopRetrying());
  const got = await t.controller.analyze({}, WORKFLOW);
  assert.equal(got, null);
  assert.equal(t.slept.length, 2);
  assert.equal(t.state.busy, null);
  assert.equal(t.state.analyzing, false);
  assert.equal(t.state.analysisError.code, "stopped");
  assert.match(t.state.analysisError.message, /busy/);
  assert.equal(t.state.report, null);
});

test("a server still busy after every try: said plainly, with Retry", async () => {
  const t = setup(Array.from({ length: BUSY_TRIES }, () => busy(1)));
  assert.equal(await t.controller.analyze({}, WORKFLOW), null);
  assert.equal(t.slept.length, BUSY_TRIES - 1);
  assert.deepEqual(t.state.analysisError, { message: "The server is busy with other analyses. Try again in a moment.",
    code: "too_many_requests" });
});

test("a newer analysis ends an older one's retries", async () => {
  let t;
  let newer = null;
  t = setup([busy(2), report(), report()], (n) => { if (n === 1) newer = t.controller.analyze({}, { key: "b.json", name: "b.json" }); });
  assert.equal(await t.controller.analyze({}, WORKFLOW), null);
  assert.equal((await newer).format, "ui");
  assert.equal(t.state.workflow.key, "b.json");
  assert.equal(t.state.reportSeq, 1);
});

test("413 and other named errors are said plainly, not retried", async () => {
  const tooLong = new MendApiError(413, { error: { code: "analysis_too_long",
    message: "the workflow took longer than 1 s to analyse; its analysis was stopped" } });
  const t = setup([tooLong, report()]);
  assert.equal(await t.controller.analyze({}, WORKFLOW), null);
  assert.deepEqual(t.slept, []);
  assert.equal(t.state.analysisError.code, "analysis_too_long");
  assert.match(t.state.analysisError.message, /^The workflow took longer than 1 s to analyse; its analysis was stopped\. .*MEND_ANALYSIS_TIMEOUT/);
  assert.equal(headline(viewModel(t.state)), "The analysis failed.");
  assert.match(analysisErrorText(new MendApiError(400, { error: { code: "invalid_workflow", message: "no nodes" } })),
    /could not read this workflow: no nodes/);
  assert.match(analysisErrorText(new MendApiError(503, { error: { code: "analysis_unavailable", message: "x" } })), /helper/);
  assert.match(analysisErrorText(new TypeError("Failed to fetch")), /^Could not reach the server/);
  // Retry is a new analysis: the error goes, the report comes.
  assert.equal((await t.controller.analyze({}, WORKFLOW)).format, "ui");
  assert.equal(t.state.analysisError, null);
});

test("while another workflow waits for a busy server, the last one's items are not shown under its name", async () => {
  let t;
  let during = null;
  t = setup([report(), busy(1), report()], (n) => { if (n === 1) during = viewModel(t.state); });
  await t.controller.analyze({}, WORKFLOW);
  await t.controller.analyze({}, { key: "other.json", name: "other.json" });
  assert.equal(during.workflow.key, "other.json");
  assert.equal(during.report, null);
  assert.deepEqual([during.nodeGroups.length, during.models.length], [0, 0]);
  assert.equal(headline(during), "Analysing: the server is busy…");
  assert.equal(t.state.report.format, "ui");
});

test("a decision refused by a busy server is posted again after Retry-After; the item shows it saving meanwhile", async () => {
  let state = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: report() });
  const posted = [];
  const slept = [];
  let refusals = 2;
  let pendingWhileWaiting = null;
  const controller = createController({
    client: {
      decide: async (d) => {
        posted.push(d);
        if (refusals-- > 0) throw busy(3);
        return { decision: d };
      },
    },
    getState: () => state, dispatch: (a) => (state = reduce(state, a)), now: () => 0,
    sleep: async (ms) => { slept.push(ms); pendingWhileWaiting = { ...state.pendingDecisions }; },
  });
  const model = viewModel(state).models[0];
  assert.equal(await controller.optional(model), true);
  assert.equal(posted.length, 3);
  assert.deepEqual(slept, [3000, 3000]);
  assert.deepEqual(pendingWhileWaiting, { [model.id]: true });
  assert.deepEqual(state.itemErrors, {});
  assert.equal(state.decisions[model.id].action, "optional");
});

test("the background search of a busy server is asked again, not dropped", async () => {
  let state = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: report() });
  let refusals = 1;
  const slept = [];
  const controller = createController({
    client: {
      searchModels: async () => {
        if (refusals-- > 0) throw busy(2);
        const searched = report();
        searched.missing_models[0].candidates[0].size = 42;
        return searched;
      },
    },
    getState: () => state, dispatch: (a) => (state = reduce(state, a)), now: () => 0,
    sleep: async (ms) => { slept.push(ms); },
  });
  await controller.searchInBackground({});
  assert.deepEqual(slept, [2000]);
  assert.equal(state.searching, false);
  assert.equal(state.searchedSeq, state.reportSeq);
  assert.equal(state.report.missing_models[0].candidates[0].size, 42);
});
