// Finding nodes by id path and pointing model widgets at files (web/js/mend/graph.js), on plain objects.
import test from "node:test";
import assert from "node:assert/strict";
import { applyModelValue, findNode, setModelWidget, splitPath } from "../../web/js/mend/graph.js";

function graphOf(nodes) {
  return { nodes, changed: 0, getNodeById(id) { return nodes.find((n) => n.id === id) ?? null; }, change() { this.changed++; } };
}

function loader(id, value, extra = {}) {
  return { id, widgets: [{ name: "ckpt_name", value, options: { values: [value] } }, { name: "other", value: 1 }], ...extra };
}

test("an id path descends through subgraph instances", () => {
  const inner = loader(5, "a.safetensors");
  const deeper = loader(2, "b.safetensors");
  const sub2 = graphOf([deeper]);
  const sub = graphOf([inner, { id: 7, subgraph: sub2 }]);
  const root = graphOf([{ id: 12, subgraph: sub }, loader(4, "root.safetensors")]);
  assert.deepEqual(splitPath("12:5"), ["12", "5"]);
  assert.equal(findNode(root, "4").widgets[0].value, "root.safetensors");
  assert.equal(findNode(root, "12:5"), inner);
  assert.equal(findNode(root, "12:7:2"), deeper);
  assert.equal(findNode(root, "12:99"), null);
  assert.equal(findNode(root, "4:1"), null); // 4 is no subgraph instance
});

test("nodes whose ids are strings, and graphs without getNodeById, are found too", () => {
  const g = { _nodes: [{ id: "a1" }] };
  assert.deepEqual(findNode(g, "a1"), { id: "a1" });
});

test("the widget is found by input name; its combo list learns the new file", () => {
  const node = loader(4, "missing.safetensors");
  let called = null;
  node.widgets[0].callback = (v) => (called = v);
  const changed = setModelWidget(node, { input: "ckpt_name", widget_index: 0 }, "xl/sdxl.safetensors");
  assert.deepEqual(changed, { via: "widget", name: "ckpt_name", old: "missing.safetensors" });
  assert.equal(node.widgets[0].value, "xl/sdxl.safetensors");
  assert.ok(node.widgets[0].options.values.includes("xl/sdxl.safetensors"));
  assert.equal(called, "xl/sdxl.safetensors");
  assert.equal(node.widgets[1].value, 1);
});

test("without an input name the widget index is used; a node without widgets gets widgets_values", () => {
  const node = loader(4, "x");
  setModelWidget(node, { widget_index: 1 }, "y");
  assert.equal(node.widgets[1].value, "y");
  const unbuilt = { id: 9, widgets_values: ["old.safetensors", 1.0] };
  assert.deepEqual(setModelWidget(unbuilt, { input: "lora_name", widget_index: 0 }, "new.safetensors"),
    { via: "widgets_values", index: 0, old: "old.safetensors" });
  assert.deepEqual(unbuilt.widgets_values, ["new.safetensors", 1.0]);
  assert.equal(setModelWidget(loader(1, "x"), { input: "not_there" }, "y"), null); // no guessing by index
  assert.equal(setModelWidget(null, { input: "x" }, "y"), null);
});

test("applyModelValue edits the node at the path and marks the graph changed", () => {
  const inner = loader(5, "a.safetensors");
  const sub = graphOf([inner]);
  const root = graphOf([{ id: 12, subgraph: sub }]);
  assert.ok(applyModelValue(root, { node_id: "12:5", input: "ckpt_name" }, "b.safetensors"));
  assert.equal(inner.widgets[0].value, "b.safetensors");
  assert.equal(root.changed, 1);
  assert.equal(applyModelValue(root, { node_id: "3", input: "ckpt_name" }, "c"), null);
  assert.equal(root.changed, 1);
});
