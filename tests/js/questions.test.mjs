// Questions the server asks before an install, answered in the panel (never a browser dialog):
// a pack that does not fit this machine (409 incompatible), "Install anyway" or "Cancel".
import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { MendApiError } from "../../web/js/mend/client.js";
import { createController } from "../../web/js/mend/controller.js";
import { conflictReasons, incompatibleQuestion } from "../../web/js/mend/messages.js";
import { initialState, reduce } from "../../web/js/mend/state.js";
import { itemStatus, viewModel } from "../../web/js/mend/view.js";
import { WORKFLOW, report } from "./fixtures.mjs";

const REFUSAL = {
  error: {
    code: "incompatible",
    message: "comfyui-videohelpersuite 1.7.9 does not fit this machine: needs ComfyUI >=9.0 (this is 0.8.0); "
      + "runs on Windows (this is Linux); install it anyway with confirm_incompatible",
    conflicts: [{ type: "comfyui_version", required: ">=9.0", current: "0.8.0" },
      { type: "os", required: "Windows", current: "Linux" }],
  },
};

function setup() {
  let state = reduce(initialState(), { type: "analysis/done", workflow: WORKFLOW, report: report() });
  const calls = [];
  const client = {
    decide: async (d) => (calls.push(["decide", d]), { decision: d }),
    installPack: async (p) => {
      calls.push(["install", p]);
      if (!p.confirm_incompatible) throw new MendApiError(409, REFUSAL);
      return { id: "t1", kind: "install", state: "queued", params: p };
    },
  };
  const controller = createController({ client, getState: () => state, dispatch: (a) => (state = reduce(state, a)), now: () => 0 });
  return { controller, calls, get state() { return state; }, vm: () => viewModel(state) };
}

test("an incompatible pack is asked about at the first item of its install, with what does not fit", async () => {
  const t = setup();
  await t.controller.installGroup(t.vm().nodeGroups[0]);
  const [first, second] = t.vm().nodeGroups[0].items;
  assert.equal(itemStatus(first), "confirm");
  assert.equal(first.confirmation.question, "incompatible");
  assert.deepEqual(first.confirmation.items.map((i) => i.key), ["VHS_VideoCombine", "VHS_LoadVideo"]);
  assert.equal(second.confirmation, null);
  assert.equal(t.calls.filter((c) => c[0] === "install").length, 1); // nothing queued yet
  assert.deepEqual(Object.keys(t.state.tasks), []);
  assert.deepEqual(t.state.itemErrors, {}); // a question, not an error
});

test("'Install anyway' resends the same body with confirm_incompatible and the install is queued", async () => {
  const t = setup();
  await t.controller.installGroup(t.vm().nodeGroups[0]);
  await t.controller.confirmInstall(t.vm().nodeGroups[0].items[0]);
  const installs = t.calls.filter((c) => c[0] === "install").map((c) => c[1]);
  assert.equal(installs.length, 2);
  assert.deepEqual(installs[1], { ...installs[0], confirm_incompatible: true });
  assert.equal(t.state.tasks.t1.state, "queued");
  assert.deepEqual(t.state.confirmations, {});
  assert.equal(itemStatus(t.vm().nodeGroups[0].items[0]), "installing");
});

test("'Cancel' installs nothing and makes every node type decided for that install open again", async () => {
  const t = setup();
  await t.controller.installGroup(t.vm().nodeGroups[0]);
  await t.controller.declineInstall(t.vm().nodeGroups[0].items[0]);
  assert.equal(t.calls.filter((c) => c[0] === "install").length, 1);
  assert.deepEqual(t.state.confirmations, {});
  assert.deepEqual(t.state.decisions, {});
  const undone = t.calls.filter((c) => c[0] === "decide" && c[1].action === "undo").map((c) => c[1].node_type);
  assert.deepEqual(undone, ["VHS_VideoCombine", "VHS_LoadVideo"]);
  assert.deepEqual(t.vm().nodeGroups[0].items.map(itemStatus), ["certain", "choose"]);
});

test("a second refusal after 'Install anyway' is an error at the item, not another question", async () => {
  const t = setup();
  await t.controller.installGroup(t.vm().nodeGroups[0]);
  // The registry changed meanwhile: even the confirmed body is refused.
  const refuseAll = async () => { throw new MendApiError(403, { error: { code: "pack_banned", message: "x is banned" } }); };
  let s = t.state;
  const c = createController({ client: { installPack: refuseAll }, getState: () => s, dispatch: (a) => (s = reduce(s, a)) });
  await c.confirmInstall(viewModel(s).nodeGroups[0].items[0]);
  const item = viewModel(s).nodeGroups[0].items[0];
  assert.equal(item.confirmation, null);
  assert.equal(item.error, "x is banned");
});

test("what does not fit is said plainly, without the API's field names", () => {
  const q = incompatibleQuestion(REFUSAL.error);
  assert.equal(q.title, "comfyui-videohelpersuite 1.7.9 does not fit this machine");
  assert.deepEqual(q.reasons, ["It needs ComfyUI >=9.0; this is ComfyUI 0.8.0.", "It runs on Windows; this machine runs Linux."]);
  assert.deepEqual(conflictReasons([{ type: "accelerator", required: "CUDA", current: "cpu" }]), ["It needs CUDA; this machine has cpu."]);
  // An older server without the list: its own reasons, the field name cut off.
  const bare = incompatibleQuestion({ message: REFUSAL.error.message }, "VHS");
  assert.deepEqual(bare.reasons, ["Needs ComfyUI >=9.0 (this is 0.8.0); runs on Windows (this is Linux)."]);
  assert.ok(!JSON.stringify(bare).includes("confirm_incompatible"));
  assert.equal(incompatibleQuestion({ message: "" }, "VHS").title, "VHS does not fit this machine");
});

test("no browser dialog anywhere in the editor extension: alert, confirm and prompt are never called", () => {
  const dir = new URL("../../web/js/", import.meta.url);
  const files = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith(".js"));
  const called = files.filter((f) => /\b(alert|confirm|prompt)\s*\(/.test(readFileSync(new URL(String(f), dir), "utf8")
    .replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "")));
  assert.deepEqual(called, []);
});
