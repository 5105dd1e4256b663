// The browser helper other extensions import (web/js/mend/progress.js), driven by a stand-in `api`.
import test from "node:test";
import assert from "node:assert/strict";
import { EVENT, followAllPrompts, isOwnText, onOwnProgressText } from "../../web/js/mend/progress.js";

/** ComfyUI's `api` as far as the helper uses it: an EventTarget with `clientId` and `fetchApi`. */
function fakeApi() {
  const api = new EventTarget();
  api.clientId = "tab-1";
  api.calls = [];
  api.fetchApi = async (path, init) => {
    api.calls.push([path, JSON.parse(init.body)]);
    return { ok: true, json: async () => JSON.parse(init.body) };
  };
  api.emit = (type, detail) => api.dispatchEvent(new CustomEvent(type, { detail }));
  return api;
}

test("only this page's prompts reach the handler; others only when asked for, marked", () => {
  const api = fakeApi();
  const mine = [];
  const all = [];
  const stop = onOwnProgressText(api, (d) => mine.push([d.prompt_id, d.text, d.own]));
  onOwnProgressText(api, (d) => all.push([d.prompt_id, d.own]), { others: true });
  api.emit("execution_start", { prompt_id: "p-legacy" });
  api.emit(EVENT, { prompt_id: "p1", node_id: "1", text: "mine", scope: "client" });
  api.emit(EVENT, { prompt_id: "p2", node_id: "1", text: "an API-only prompt", scope: "broadcast" });
  api.emit(EVENT, { prompt_id: "p3", node_id: "1", text: "another tab's", scope: "follow" });
  api.emit(EVENT, { prompt_id: "p-legacy", node_id: "1", text: "from a Mend without scope" });
  assert.deepEqual(mine, [["p1", "mine", true], ["p-legacy", "from a Mend without scope", true]]);
  assert.deepEqual(all, [["p1", true], ["p2", false], ["p3", false], ["p-legacy", true]]);
  stop();
  api.emit(EVENT, { prompt_id: "p1", node_id: "1", text: "after stop", scope: "client" });
  assert.equal(mine.length, 2);
});

test("isOwnText rejects what is not a progress text", () => {
  assert.equal(isOwnText(null), false);
  assert.equal(isOwnText({ prompt_id: "p", scope: "client" }), false);
});

test("followAllPrompts posts this page's client id", async () => {
  const api = fakeApi();
  assert.deepEqual(await followAllPrompts(api, true), { client_id: "tab-1", all: true });
  await followAllPrompts(api, false);
  assert.deepEqual(api.calls.map(([path, body]) => [path, body.all]), [["/mend/progress/follow", true], ["/mend/progress/follow", false]]);
  api.fetchApi = async () => ({ ok: false, status: 404, json: async () => ({ error: { message: "no websocket" } }) });
  await assert.rejects(followAllPrompts(api, true), /no websocket/);
  await assert.rejects(followAllPrompts({ ...api, clientId: null }, true), /no client id/);
});
