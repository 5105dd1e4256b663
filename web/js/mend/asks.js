/**
 * The panel's asks, in its own DOM and never in a browser dialog (`alert`, `confirm`, `prompt`): the
 * question at an item the server wants confirmed first (a pickle download, a pack that does not fit this
 * machine, another file already under a download's name), and the analysis line under the header (a busy server counting down, with Stop; a failed
 * analysis, with Retry). Real buttons, keyboard reachable; the panel moves the focus to a new question's
 * safe answer (its `data-focus` ends in `:decline`).
 *
 * `el` is the panel's element builder (dom.js `h` bound to the document); `actions` the panel's.
 */

import { setText } from "./dom.js";
import { formatBytes } from "./format.js";
import { incompatibleQuestion } from "./messages.js";

/**
 * What the server wants confirmed, asked in words at the item: a pickle download, or a pack that does
 * not fit this machine. Escape answers no.
 */
export function itemQuestion(el, item, actions) {
  const c = item.confirmation;
  if (!c) return null;
  if (c.question === "existing") return existingQuestion(el, item, c, actions);
  const incompatible = c.question === "incompatible";
  const no = () => (incompatible ? actions.declineInstall(item) : actions.declineDownload(item));
  const yesAttrs = { class: "mend-btn", "data-focus": `${item.id}:confirm` };
  const noAttrs = { class: "mend-btn mend-btn-primary", "data-focus": `${item.id}:decline`, onclick: no };
  const buttons = incompatible
    ? [el("button", { ...yesAttrs, "data-control": "confirm-install", onclick: () => actions.confirmInstall(item) }, "Install anyway"),
      el("button", { ...noAttrs, "data-control": "decline-install" }, "Cancel")]
    : [el("button", { ...yesAttrs, "data-control": "confirm-download", onclick: () => actions.confirmDownload(item) },
      "Download anyway"),
    el("button", { ...noAttrs, "data-control": "decline-download" }, "Don't download")];
  const text = incompatible ? incompatibleText(el, item, c) : [el("p", {}, `${c.params?.relpath || item.value} is a pickle file: `
    + "loading it can run code someone put in it. Download it only if you trust where it comes from.")];
  return el("div", { class: `mend-confirm mend-confirm-${incompatible ? "incompatible" : "pickle"}`, role: "group",
    "aria-label": incompatible ? "Install a pack that does not fit this machine?" : "Download a pickle file?",
    onkeydown: (e) => {
      if (e.key !== "Escape") return;
      e.stopPropagation(); // the floating panel closes on Escape: here it only answers no
      no();
    } },
  el("div", { role: "alert" }, ...text),
  el("div", { class: "mend-item-actions" }, ...buttons));
}

/**
 * Another file already has the name the download would take, and Mend cannot tell it is the same:
 * keep it, save the new one under another name (the focus lands here: nothing is lost), or replace it.
 */
function existingQuestion(el, item, c, actions) {
  const e = c.existing || {};
  const name = e.path || c.params?.relpath || item.value;
  const cancel = () => actions.declineExisting(item);
  const button = (choice, control, label, title, primary = false) => el("button", {
    class: primary ? "mend-btn mend-btn-primary" : "mend-btn", ...control,
    "data-focus": `${item.id}:${primary ? "decline" : choice}`, title, onclick: () => actions.answerExisting(item, choice) }, label);
  return el("div", { class: "mend-confirm mend-confirm-existing", role: "group",
    "aria-label": `${name} already exists`,
    onkeydown: (ev) => {
      if (ev.key !== "Escape") return;
      ev.stopPropagation();
      cancel();
    } },
  el("div", { role: "alert" },
    el("p", { class: "mend-confirm-title" }, `${e.folder ? `${e.folder}/` : ""}${name} already exists`
      + (e.size !== undefined ? ` (${formatBytes(e.size)})` : "") + "."),
    el("p", {}, `${e.why ? `${e.why[0].toUpperCase()}${e.why.slice(1)}` : "Mend cannot tell it is the same file"}. `
      + "Which file should the node use?")),
  el("div", { class: "mend-item-actions" },
    e.suggested ? button("rename", { "data-control": "existing-rename" }, `Save new as ${e.suggested.split("/").pop()}`,
      "Download the new file under this name and point the node at it; the file there stays", true) : null,
    button("keep", { "data-control": "existing-keep" }, "Keep the file there", "It is the same file: use it, download nothing"),
    button("replace", { "data-control": "existing-replace" }, "Replace it", "Download the new file; once it is verified the old one is moved aside"),
    el("button", { class: "mend-btn", "data-control": "existing-cancel", onclick: cancel }, "Cancel")));
}

function incompatibleText(el, item, confirmation) {
  const pack = item.candidates?.find((c) => c.pack)?.pack;
  const { title, reasons } = incompatibleQuestion(confirmation, pack?.title || pack?.id || "This pack");
  return [
    el("p", { class: "mend-confirm-title" }, `${title}:`),
    el("ul", { class: "mend-confirm-reasons" }, ...reasons.map((r) => el("li", {}, r))),
    el("p", {}, "Installed anyway, it may fail to load or stop ComfyUI from starting. Cancel installs nothing."),
  ];
}

/**
 * The analysis, when it is not a report: a busy server counting down to its next ask (with Stop), or
 * why it failed (with Retry). Built once and updated in place, so a focused button keeps its focus
 * while the seconds tick; when the focused button goes, the focus moves to the one that replaced it.
 * `header()` is the panel's header, whose first button takes the focus when the line goes away.
 */
export function createAnalysisLine(el, doc, actions, header) {
  const busyText = el("span", { class: "mend-busy-text mend-num" });
  const stop = el("button", { class: "mend-btn", "data-control": "analysis-stop",
    title: "Stop asking the busy server; Retry asks again", onclick: () => actions.stopRetrying() }, "Stop");
  const busy = el("div", { class: "mend-busy", role: "status" }, busyText, stop);
  const errorText = el("span", { class: "mend-item-error-text" });
  const retry = el("button", { class: "mend-btn", "data-control": "analysis-retry", onclick: () => actions.reanalyze() },
    "Retry");
  const failed = el("div", { class: "mend-item-error mend-analysis-error", role: "alert" }, errorText, retry);
  const line = el("div", { class: "mend-analysis-line", tabindex: "-1" }, busy, failed);
  return {
    root: line,
    update(vm) {
      const hadFocus = line.contains(doc.activeElement);
      const b = vm.busy;
      busy.hidden = !b;
      if (b) {
        const next = `try ${b.attempt + 1} of ${b.tries}`;
        setText(busyText, b.seconds > 0 ? `Server busy, retrying in ${b.seconds} s (${next})` : `Server busy, asking again (${next})…`);
      }
      failed.hidden = !!b || !vm.analysisError;
      setText(errorText, vm.analysisError?.message || "");
      line.hidden = busy.hidden && failed.hidden;
      if (hadFocus && (doc.activeElement === doc.body || doc.activeElement?.closest("[hidden]"))) {
        (!busy.hidden ? stop : !failed.hidden ? retry : header().querySelector("button:not([disabled])") || line).focus();
      }
    },
  };
}
