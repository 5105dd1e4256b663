/**
 * The open graph, as far as the panel touches it: find a node by its id path ("12:5" is node 5
 * inside the subgraph that instance 12 uses) and point a model widget at a resolved file.
 *
 * Works on any object shaped like LiteGraph's (`getNodeById`, `node.subgraph`, `node.widgets`),
 * so it is tested under `node --test` with plain objects; no ComfyUI import.
 *
 *     const node = findNode(app.graph, "12:5");
 *     setModelWidget(node, { input: "ckpt_name", widget_index: 0 }, "xl/sdxl.safetensors");
 */

/** "12:5" -> ["12", "5"]; numbers stay strings so both kinds of LiteGraph id match. */
export function splitPath(path) {
  return String(path).split(":").filter((part) => part !== "");
}

function nodeIn(graph, id) {
  if (!graph) return null;
  const byId = graph.getNodeById?.(id) ?? graph.getNodeById?.(Number(id));
  if (byId) return byId;
  const nodes = graph._nodes || graph.nodes || [];
  return nodes.find((n) => String(n.id) === String(id)) || null;
}

/** The node at an id path, descending through subgraph instances; null when any step is missing. */
export function findNode(graph, path) {
  let current = graph;
  let node = null;
  const parts = splitPath(path);
  for (let i = 0; i < parts.length; i++) {
    node = nodeIn(current, parts[i]);
    if (!node) return null;
    if (i < parts.length - 1) {
      current = node.subgraph;
      if (!current) return null;
    }
  }
  return node;
}

/**
 * Set a model widget's value, by input name first (robust to widgets that add hidden values,
 * like a seed's "control after generate"), then by widget index. A node the frontend could not
 * build (a missing node type) has no widgets, only `widgets_values`: that is updated instead.
 * Returns what was changed, or null when nothing matched.
 */
export function setModelWidget(node, ref, value) {
  if (!node) return null;
  const widgets = node.widgets || [];
  let widget = ref.input ? widgets.find((w) => w.name === ref.input) : null;
  if (!widget && Number.isInteger(ref.widget_index) && !ref.input) widget = widgets[ref.widget_index];
  if (widget) {
    const values = widget.options?.values;
    // The combo's list is the server's list at load time: the new file is not in it yet.
    if (Array.isArray(values) && !values.includes(value)) values.push(value);
    const old = widget.value;
    widget.value = value;
    widget.callback?.(value);
    node.onWidgetChanged?.(widget.name, value, old, widget);
    return { via: "widget", name: widget.name, old };
  }
  if (Array.isArray(node.widgets_values) && Number.isInteger(ref.widget_index)) {
    const old = node.widgets_values[ref.widget_index];
    node.widgets_values[ref.widget_index] = value;
    return { via: "widgets_values", index: ref.widget_index, old };
  }
  return null;
}

/** Point the model reference `ref` (an item of the analysis) at `value`; mark the graph changed. */
export function applyModelValue(graph, ref, value) {
  const node = findNode(graph, ref.node_id);
  const changed = setModelWidget(node, ref, value);
  if (changed) {
    node.setDirtyCanvas?.(true, true);
    graph.change?.();
  }
  return changed;
}

/** The value a model widget should take for a candidate: the file relative to its model folder. */
export function widgetValueFor(candidate) {
  return candidate.relpath;
}
