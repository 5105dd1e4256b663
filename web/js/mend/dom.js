/**
 * Two small DOM helpers the panel is built with: `h` creates an element tree, `keyed` keeps one
 * element per key in a container and updates it in place, so a progress tick changes a bar's
 * width and a few texts instead of rebuilding rows (no flicker, no lost focus, no layout jumps).
 *
 * The document is passed in, never read from a global at import, so importing this module has no
 * side effects (ComfyUI imports every .js file under WEB_DIRECTORY as an extension).
 */

/** h(doc, "button", { class: "x", onclick: fn, "aria-label": "y" }, "text", child...) */
export function h(doc, tag, attrs, ...children) {
  const el = doc.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(doc, el, children);
  return el;
}

function append(doc, el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(doc, el, child);
    else el.append(typeof child === "string" || typeof child === "number" ? doc.createTextNode(String(child)) : child);
  }
}

/**
 * Make `container`'s children one element per item, in order: `create(item)` builds a new one,
 * `update(el, item)` refreshes an existing one. Elements of keys no longer present are removed.
 */
export function keyed(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const el of [...container.children]) existing.set(el.dataset.key, el);
  let cursor = container.firstElementChild;
  for (const item of items) {
    const key = String(keyOf(item));
    let el = existing.get(key);
    if (el) existing.delete(key);
    else {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const el of existing.values()) el.remove();
}

/** Set a text only when it changed (no needless layout work during progress). */
export function setText(el, text) {
  const value = text ?? "";
  if (el.textContent !== value) el.textContent = value;
}
