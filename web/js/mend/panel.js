/**
 * The panel's DOM: missing node types grouped by pack, missing models with their candidates, the
 * progress of downloads and installs, and the jobs (prompts) with their progress text.
 *
 * `createPanel(doc, actions)` returns `{ root, render(vm) }`; `vm` comes from `view.js`. The
 * decision part is rebuilt only when what it shows changes (a decision, a task's state), keeping
 * the focused control focused; progress rows and jobs are updated in place. No ComfyUI import:
 * the entry module wires `actions` to the API and the graph.
 */

import { catalogWarning, describeCandidate, linkLine } from "./format.js";
import { h, keyed, setText } from "./dom.js";
import { createAnalysisLine, itemQuestion } from "./asks.js";
import { chosenCandidate, headline, isDoubtful, isFixed, itemStatus, noSourceText } from "./view.js";

const STATE_WORDS = {
  queued: "queued",
  running: "running",
  succeeded: "done",
  failed: "failed",
  cancelled: "cancelled",
  interrupted: "interrupted",
  paused: "paused",
};

/**
 * Every control Mend renders, by its `data-control` name (the toast's two live in mend.js, the questions'
 * and the analysis line's in asks.js). The
 * browser suite clicks each one at least once and checks this list against what it clicked.
 */
export const CONTROLS = [
  "fix-all", "reanalyze", "include-inactive", "restart", "reload-page",
  "group-install", "candidate", "url-input", "use-url", "optional", "skip", "undo",
  "item-retry", "item-search", "item-install-pack", "item-folder", "confirm-download", "decline-download",
  "confirm-install", "decline-install", "existing-keep", "existing-rename", "existing-replace", "existing-cancel",
  "analysis-stop", "analysis-retry",
  "task-cancel", "task-pause", "task-resume", "task-retry", "clear-finished", "jobs-all-clients", "rollback-pack",
  "toast-resolve", "toast-close",
];

export function createPanel(doc, actions) {
  const el = (tag, attrs, ...children) => h(doc, tag, attrs, ...children);
  const header = el("div", { class: "mend-header" });
  const banner = el("div", { class: "mend-banner", role: "status", hidden: true });
  const errorLine = el("div", { class: "mend-error", role: "alert" });
  const analysisLine = createAnalysisLine(el, doc, actions, () => header);
  const importFailures = el("div", { class: "mend-banner mend-import-failures", role: "alert", hidden: true });
  const decisions = el("div", { class: "mend-decisions" });
  const tasksList = el("div", { class: "mend-rows", role: "list", "aria-label": "Downloads and installs" });
  const tasksSection = el(
    "section",
    { class: "mend-section mend-tasks", "aria-labelledby": "mend-tasks-h" },
    el("div", { class: "mend-section-head" },
      el("h3", { id: "mend-tasks-h" }, "Downloads & installs"),
      el("button", { class: "mend-btn mend-btn-text", "data-control": "clear-finished",
        onclick: () => actions.clearFinished() }, "Clear finished")),
    tasksList,
  );
  const jobsList = el("div", { class: "mend-rows", role: "list", "aria-label": "Jobs" });
  const followAll = el("input", { type: "checkbox", class: "mend-follow-all", "data-control": "jobs-all-clients",
    onchange: (e) => actions.followAll?.(e.target.checked) });
  const jobsEmpty = el("div", { class: "mend-empty" }, "No prompt queued from this tab yet.");
  const jobsSection = el("section", { class: "mend-section mend-jobs", "aria-labelledby": "mend-jobs-h" },
    el("div", { class: "mend-section-head" },
      el("h3", { id: "mend-jobs-h" }, "Jobs"),
      el("label", { class: "mend-switch", title: "Also show other tabs' and clients' prompts, read-only" },
        followAll, "All clients")),
    jobsEmpty, jobsList);
  const root = el("div", { class: "mend-panel" }, header, analysisLine.root, banner, importFailures, errorLine, decisions,
    tasksSection, jobsSection);
  let decisionsSignature = null;
  let headerSignature = null;
  let asked = new Set(); // items whose question (pickle, incompatible pack) was shown in the last render
  let shownWorkflow; // another workflow starts at the top, not at the last one's scroll position

  function render(vm) {
    if ((vm.workflow?.key ?? null) !== shownWorkflow) {
      shownWorkflow = vm.workflow?.key ?? null;
      root.scrollTop = 0;
      if (root.parentElement) root.parentElement.scrollTop = 0;
    }
    renderHeader(vm);
    analysisLine.update(vm);
    renderBanner(vm);
    renderImportFailures(vm);
    setText(errorLine, vm.error || "");
    errorLine.hidden = !vm.error;
    const signature = decisionSignature(vm);
    if (signature !== decisionsSignature) {
      decisionsSignature = signature;
      renderDecisionsKeepingFocus(vm);
    }
    updateMiniBars(vm);
    tasksSection.hidden = vm.tasks.length === 0;
    keyed(tasksList, vm.tasks, (t) => t.id, createTaskRow, updateTaskRow);
    followAll.checked = !!vm.followAll;
    jobsEmpty.hidden = vm.jobs.length > 0;
    keyed(jobsList, vm.jobs, (j) => j.id, createJobRow, updateJobRow);
  }

  /**
   * Rebuild the decision part; the focus stays where it was (the same control, else a control of the
   * same item), and a question that just appeared takes it (its safe answer) if the focus was in the
   * panel or nowhere, so a keyboard user lands on it.
   */
  function renderDecisionsKeepingFocus(vm) {
    const active = doc.activeElement;
    const focusKey = active?.dataset?.focus;
    const focusItem = active?.closest?.("[data-item]")?.dataset.item;
    const ours = !active || active === doc.body || root.contains(active);
    const drafts = [...decisions.querySelectorAll("input[data-focus]")].map((i) => [i.dataset.focus, i.value]);
    decisions.replaceChildren(...renderDecisions(vm));
    for (const [key, value] of drafts) {
      const input = decisions.querySelector(`input[data-focus="${CSS.escape(key)}"]`);
      if (input) input.value = value;
    }
    const items = [...vm.nodeGroups.flatMap((g) => g.items), ...vm.models, ...vm.inactive];
    const questions = items.filter((i) => i.confirmation).map((i) => i.id);
    const fresh = questions.find((id) => !asked.has(id));
    asked = new Set(questions);
    const find = (selector) => decisions.querySelector(selector);
    const target = (fresh && ours && find(`[data-focus="${CSS.escape(`${fresh}:decline`)}"]`))
      || (focusKey && find(`[data-focus="${CSS.escape(focusKey)}"]`))
      || (focusItem && [...decisions.querySelectorAll(`[data-item="${CSS.escape(focusItem)}"] button`)].find((b) => !b.disabled));
    if (target && (target !== active || !active?.isConnected)) target.focus();
  }

  function renderHeader(vm) {
    const summary = headline(vm);
    const warning = catalogWarning(vm.report);
    const signature = JSON.stringify([vm.workflow?.name, summary, vm.certain.length, vm.analyzing, vm.searching, warning]);
    if (signature === headerSignature) return;
    headerSignature = signature;
    header.replaceChildren(...[
      el("div", { class: "mend-title-row" },
        el("h2", { class: "mend-title" }, "Mend"),
        el("span", { class: "mend-workflow", title: vm.workflow?.name || "" }, vm.workflow?.name || "")),
      el("p", { class: "mend-summary", "aria-live": "polite" }, summary),
      warning ? el("p", { class: "mend-error mend-catalog-warning", role: "status" }, warning) : null,
      vm.searching ? el("p", { class: "mend-sub mend-searching" }, "Looking up sources, sizes and hashes…") : null,
      el("div", { class: "mend-toolbar" },
        el("button", {
          class: "mend-btn mend-btn-primary", disabled: vm.certain.length === 0,
          onclick: () => actions.fixAllCertain(), "data-focus": "fix-all", "data-control": "fix-all",
          title: "Accept every missing item of a node that runs and that has exactly one certain match",
        }, `Fix all certain (${vm.certain.length})`),
        el("button", { class: "mend-btn", onclick: () => actions.reanalyze(), "data-focus": "reanalyze",
          "data-control": "reanalyze", disabled: vm.analyzing }, "Analyse again")),
    ].filter(Boolean));
  }

  /** Packs Mend installed that failed to import after the restart: ComfyUI's error, and "Roll back". */
  function renderImportFailures(vm) {
    const key = vm.importFailures.map((f) => f.folder).join("|");
    importFailures.hidden = !key;
    if (importFailures.dataset.key === key) return;
    importFailures.dataset.key = key;
    importFailures.replaceChildren(...vm.importFailures.map((f) => el("div", { class: "mend-import-failure", dataset: { folder: f.folder } },
      el("span", {}, `${f.folder} was installed but failed to import: ${f.error || "see ComfyUI's log"}`),
      f.log?.length ? el("pre", { class: "mend-import-log" }, f.log.join("\n")) : null,
      el("button", { class: "mend-btn", "data-control": "rollback-pack", onclick: () => actions.rollbackPack(f.folder) },
        "Roll back"))));
  }

  function renderBanner(vm) {
    banner.hidden = vm.restart === "none";
    if (banner.hidden) return;
    if (banner.dataset.state === vm.restart) return;
    banner.dataset.state = vm.restart;
    if (vm.restart === "reload") {
      banner.replaceChildren(
        el("span", {}, "ComfyUI restarted, but this page still lacks the new nodes: reload the page to load them."),
        el("button", { class: "mend-btn mend-btn-primary", "data-control": "reload-page", onclick: () => actions.reloadPage() },
          "Reload the page"));
      return;
    }
    const busy = vm.restart === "restarting" || vm.restart === "refreshing";
    const text = { restarting: "Restarting ComfyUI…", refreshing: "Loading the new nodes into the editor…" }[vm.restart]
      || "New node packs are installed: restart ComfyUI to load them.";
    banner.replaceChildren(
      el("span", {}, text),
      el("button", { class: "mend-btn mend-btn-primary", disabled: busy, "data-control": "restart",
        onclick: () => actions.restart() }, "Restart"),
    );
  }

  function renderDecisions(vm) {
    const out = [];
    if (vm.nodeGroups.length) {
      out.push(el("section", { class: "mend-section", "aria-labelledby": "mend-nodes-h" },
        el("h3", { id: "mend-nodes-h" }, "Missing node types"),
        ...vm.nodeGroups.map(renderGroup)));
    }
    if (vm.models.length) {
      out.push(el("section", { class: "mend-section", "aria-labelledby": "mend-models-h" },
        el("h3", { id: "mend-models-h" }, "Missing models"),
        ...vm.models.map(renderModel)));
    }
    if (vm.inactive.length) {
      out.push(el("section", { class: "mend-section mend-inactive", "aria-labelledby": "mend-inactive-h" },
        el("h3", { id: "mend-inactive-h" }, vm.inactive.some((i) => i.fetchedByPack)
          ? "Not blocking: used only by bypassed or muted nodes, or fetched by their pack on first use"
          : "Not blocking: used only by bypassed or muted nodes"),
        el("label", { class: "mend-check" },
          el("input", { type: "checkbox", checked: vm.includeInactive, "data-control": "include-inactive",
            "data-focus": "include-inactive", onchange: (e) => actions.setIncludeInactive(e.target.checked) }),
          " Include these in “Fix all certain”"),
        ...vm.inactive.map((item) => (item.kind === "node" ? renderNodeItem(item) : renderModel(item)))));
    }
    return out;
  }

  function renderGroup(group) {
    const d = group.pack ? describeCandidate({ pack: group.pack, reason: group.items[0].candidates?.[0]?.reason, install: group.install }) : null;
    const undecided = group.items.filter((i) => !i.decision);
    return el("div", { class: "mend-group" },
      el("div", { class: "mend-group-head" },
        el("div", { class: "mend-group-title" },
          group.pack ? el("span", { class: "mend-name" }, d.title) : el("span", { class: "mend-name" }, "No known pack"),
          group.pack ? el("span", { class: "mend-meta" }, [d.source].filter(Boolean).join(" · ")) : null),
        group.pack && undecided.length
          ? el("button", { class: "mend-btn mend-btn-primary", "data-focus": `group:${group.key}`, "data-control": "group-install",
            onclick: () => actions.installGroup(group) }, `Install (${group.items.length})`)
          : null),
      ...group.items.map(renderNodeItem));
  }

  function itemClass(item) {
    const status = itemStatus(item);
    return `mend-item${item.decision ? " mend-decided" : ""}${status === "failed" ? " mend-failed" : ""}`
      + `${item.inactive ? " mend-item-inactive" : ""}`;
  }

  function renderNodeItem(item) {
    return el("article", { class: itemClass(item), dataset: { item: item.id, status: itemStatus(item) } },
      el("div", { class: "mend-item-head" },
        el("code", { class: "mend-name" }, item.type),
        statusChip(item)),
      el("div", { class: "mend-sub" },
        `node${item.node_ids.length === 1 ? "" : "s"} ${item.node_ids.join(", ")}`,
        item.inactive ? el("span", { class: "mend-inactive-mark" }, ` · ${item.mark || "bypassed or muted"}: not blocking`) : null),
      candidateList(item),
      itemQuestion(el, item, actions),
      itemError(item),
      itemActions(item, false),
      miniBar(item));
  }

  function refLine(item) {
    const refs = item.refs || [];
    const markOf = (r) => r.mark ?? (r.mode === 4 ? "bypassed" : r.mode === 2 ? "muted" : null);
    const where = refs.map((r) => `${r.node_type} · ${r.input ?? `widget ${r.widget_index}`} · node ${r.node_id}`
      + (markOf(r) ? ` (${markOf(r)})` : ""));
    return where.length > 1 ? `${where.length} nodes use it: ${where.join("; ")}` : where[0] || "";
  }

  /** A guessed folder, shown as a guess, with ComfyUI's folders to pick from. */
  function folderPicker(item) {
    if (!item.guessed) return null;
    const current = item.picked || item.folder || "";
    const options = [...new Set([current, ...(item.folders || [])].filter(Boolean))];
    return el("label", { class: "mend-folder-pick" },
      el("span", {}, item.picked ? "Folder (your choice): " : "Folder (a guess, check it): "),
      el("select", { class: "mend-select", "data-control": "item-folder", "data-focus": `${item.id}:folder`,
        "aria-label": `Model folder for ${item.value}`, onchange: (e) => actions.pickFolder(item, e.target.value) },
      current ? null : el("option", { value: "", selected: true, disabled: true }, "choose a folder…"),
      ...options.map((f) => el("option", { value: f, selected: f === current }, f))));
  }

  /** A loader whose pack is missing: the model waits for the pack (or for the user to name the folder). */
  function folderLine(item) {
    if (!item.waitsFor) return folderPicker(item);
    const pack = item.waitsFor.pack?.title || item.waitsFor.pack?.id || "its node pack";
    return [el("div", { class: "mend-waits" },
      el("span", {}, `Waits for ${pack}: its loader ${item.waitsFor.type} is not installed, so the folder it reads`
        + " is not known yet. Install the pack first and restart, or pick the folder if you know it."),
      el("button", { class: "mend-btn", "data-control": "item-install-pack", "data-focus": `${item.id}:install-pack`,
        onclick: () => actions.installPackFirst(item) }, "Install the pack first")),
    folderPicker(item)];
  }

  function renderModel(item) {
    return el("article", { class: itemClass(item), dataset: { item: item.id, status: itemStatus(item) } },
      el("div", { class: "mend-item-head" },
        el("code", { class: "mend-name", title: item.value }, item.value),
        statusChip(item)),
      el("div", { class: "mend-sub" }, `${refLine(item)} → `,
        el("span", { class: "mend-folder" }, item.picked || item.folder || "folder unknown"),
        item.guessed && !item.picked ? el("span", { class: "mend-guess" }, " (guessed)") : null,
        item.fetchedByPack && !item.mark
          ? el("span", { class: "mend-inactive-mark" }, " · fetched by its pack on first use: not blocking")
          : item.inactive ? el("span", { class: "mend-inactive-mark" }, ` · ${item.mark || "bypassed or muted"}: not blocking, its nodes do not run`) : null),
      folderLine(item),
      candidateList(item),
      item.decision?.probe ? el("p", { class: "mend-sub mend-link", "data-link": item.decision.probe.outcome },
        `Link: ${linkLine(item.decision.probe)}`) : null,
      itemQuestion(el, item, actions),
      itemError(item),
      item.hint ? el("p", { class: "mend-sub mend-hint", role: "status" }, item.hint) : null,
      itemActions(item, true),
      miniBar(item));
  }

  function statusChip(item) {
    const status = itemStatus(item);
    return el("span", { class: `mend-chip mend-chip-${status.replace(/[\s…]+/g, "-").replace(/-$/, "")}` },
      item.pending ? "saving…" : status);
  }

  /** A failure at the item it belongs to: what went wrong, and Retry. */
  function itemError(item) {
    const message = item.error || (item.task?.state === "failed" ? item.task.error?.message || "the task failed" : null);
    if (!message) return null;
    return el("div", { class: "mend-item-error", role: "alert" },
      el("span", { class: "mend-item-error-text" }, message),
      el("button", { class: "mend-btn", "data-control": "item-retry", "data-focus": `${item.id}:retry`,
        onclick: () => actions.retryItem(item) }, "Retry"));
  }

  function candidateList(item) {
    if (!item.candidates?.length) {
      const text = noSourceText(item);
      return el("p", { class: "mend-sub mend-none" }, text);
    }
    const chosen = chosenCandidate(item, item.decision);
    const blocked = !!item.waitsFor;
    return el("ul", { class: "mend-cands", role: "list" }, ...item.candidates.map((c, index) => {
      const d = describeCandidate(c);
      // The server's "auto" (a unique certain match) is what the badge says: its candidate says the same.
      if (index === 0 && item.auto && !isDoubtful(c)) d.confidence = "certain";
      const selected = chosen === c || (item.decision?.action === "url" && item.decision.viaCandidate === index);
      return el("li", {},
        el("button", {
          class: `mend-cand${selected ? " mend-selected" : ""}`, "aria-pressed": selected ? "true" : "false",
          "data-focus": `${item.id}:cand:${index}`, "data-control": "candidate", onclick: () => actions.choose(item, index),
          title: d.href || d.title, disabled: blocked,
        },
        el("span", { class: "mend-cand-title" }, d.title),
        el("span", { class: "mend-cand-reason" }, `${d.reason}${d.confidence ? ` · ${d.confidence}` : ""}`),
        el("span", { class: "mend-cand-meta" }, [d.size, d.source].filter(Boolean).join(" · ")),
        c.probe ? el("span", { class: c.reason === "link_problem" ? "mend-cand-problem" : "mend-cand-link" },
          linkLine(c.probe, false)) : null));
    }));
  }

  function itemActions(item, allowUrl) {
    const blocked = !!item.waitsFor;
    const input = allowUrl
      ? el("input", { class: "mend-url", type: "url", placeholder: "Paste a URL (https://…)", "aria-label": `URL for ${item.value}`,
        "data-focus": `${item.id}:url`, "data-control": "url-input", disabled: blocked,
        onkeydown: (e) => e.key === "Enter" && submitUrl() })
      : null;
    function submitUrl() {
      actions.pasteUrl(item, input.value.trim()); // an empty box is answered at the item: what to paste
    }
    const decided = item.decision && !item.pending;
    const undoable = decided && (item.decision.action === "optional" || item.decision.action === "skip"
      || (!item.task || ["failed", "cancelled", "succeeded"].includes(item.task.state)));
    if (decided && isFixed(item)) {
      // Done: what is left to do is to take it back.
      return el("div", { class: "mend-item-actions" }, el("button", { class: "mend-btn mend-btn-text", "data-focus": `${item.id}:undo`,
        "data-control": "undo", title: "Forget this decision: the item is open again (the file stays on disk)",
        onclick: () => actions.undo(item) }, "Undo"));
    }
    return el("div", { class: "mend-item-actions" },
      input,
      input ? el("button", { class: "mend-btn", "data-focus": `${item.id}:use-url`, "data-control": "use-url", disabled: blocked,
        onclick: submitUrl }, "Use URL") : null,
      allowUrl ? el("button", { class: "mend-btn mend-btn-text", "data-focus": `${item.id}:search`, "data-control": "item-search",
        disabled: blocked || !!item.lookingUp, title: "Look for a file of this name on Hugging Face", onclick: () => actions.searchItem(item) }, "Search") : null,
      el("button", { class: "mend-btn mend-btn-text", "data-focus": `${item.id}:optional`, "data-control": "optional",
        "aria-pressed": item.decision?.action === "optional" ? "true" : "false", onclick: () => actions.optional(item) }, "Optional"),
      el("button", { class: "mend-btn mend-btn-text", "data-focus": `${item.id}:skip`, "data-control": "skip",
        "aria-pressed": item.decision?.action === "skip" ? "true" : "false", onclick: () => actions.skip(item) }, "Skip"),
      undoable ? el("button", { class: "mend-btn mend-btn-text", "data-focus": `${item.id}:undo`, "data-control": "undo",
        title: "Forget this decision: the item is open again", onclick: () => actions.undo(item) }, "Undo") : null);
  }

  function miniBar(item) {
    return el("div", { class: "mend-mini", dataset: { bar: item.id }, hidden: !item.task },
      el("div", { class: "mend-bar" }, el("div", { class: "mend-bar-fill" })),
      el("span", { class: "mend-num mend-mini-pct" }));
  }

  function updateMiniBars(vm) {
    const rows = new Map(vm.tasks.map((t) => [t.id, t]));
    for (const item of [...vm.nodeGroups.flatMap((g) => g.items), ...vm.models]) {
      const bar = decisions.querySelector(`[data-bar="${CSS.escape(item.id)}"]`);
      if (!bar) continue;
      const row = item.task ? rows.get(item.task.id) : null;
      bar.hidden = !row;
      if (row) paintBar(bar.querySelector(".mend-bar"), row), setText(bar.querySelector(".mend-mini-pct"), row.percent || STATE_WORDS[row.stateText]);
    }
  }

  function createTaskRow() {
    return el("div", { class: "mend-row", role: "listitem" },
      el("div", { class: "mend-row-top" },
        el("span", { class: "mend-row-label" }),
        el("span", { class: "mend-pct mend-num" }),
        el("span", { class: "mend-row-buttons" },
          el("button", { class: "mend-btn mend-btn-text mend-pause", "data-control": "task-pause",
            title: "Stop and keep what is downloaded; Resume continues" }, "Pause"),
          el("button", { class: "mend-btn mend-btn-text mend-resume", "data-control": "task-resume" }, "Resume"),
          el("button", { class: "mend-btn mend-btn-text mend-cancel", "data-control": "task-cancel",
            title: "Stop and discard what is downloaded" }, "Cancel"),
          el("button", { class: "mend-btn mend-btn-text mend-retry", "data-control": "task-retry" }, "Retry"))),
      el("div", { class: "mend-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" },
        el("div", { class: "mend-bar-fill" })),
      el("div", { class: "mend-row-figures mend-num" },
        el("span", { class: "mend-bytes" }), el("span", { class: "mend-rate" }), el("span", { class: "mend-eta" })),
      el("div", { class: "mend-row-message" }, el("span", { class: "mend-row-state" }), el("span", { class: "mend-row-msg" })));
  }

  function updateTaskRow(row, t) {
    const q = (s) => row.querySelector(s);
    row.dataset.state = t.state;
    setText(q(".mend-row-label"), t.label);
    q(".mend-row-label").title = t.label;
    q(".mend-bar").setAttribute("aria-label", t.label);
    const stateText = [t.attempt, STATE_WORDS[t.stateText] || t.stateText].filter(Boolean).join(" · ");
    setText(q(".mend-row-state"), stateText);
    q(".mend-row-state").title = stateText;
    for (const [name, shown, act] of [["cancel", t.canCancel, actions.cancel], ["retry", t.canRetry, actions.retry],
      ["pause", t.canPause, actions.pause], ["resume", t.canResume, actions.resume]]) {
      const button = q(`.mend-${name}`);
      button.hidden = !shown;
      button.onclick = () => act(t.id);
      button.setAttribute("aria-label", `${name[0].toUpperCase()}${name.slice(1)} ${t.label}`);
    }
    paintBar(q(".mend-bar"), t);
    setText(q(".mend-pct"), t.percent);
    setText(q(".mend-bytes"), t.bytes);
    setText(q(".mend-rate"), t.rate);
    setText(q(".mend-eta"), t.eta ? `ETA ${t.eta}` : "");
    setText(q(".mend-row-msg"), t.message);
  }

  function paintBar(bar, t) {
    const fill = bar.firstElementChild;
    const pct = t.fraction === null || t.fraction === undefined ? null : Math.round(t.fraction * 1000) / 10;
    bar.classList.toggle("mend-indeterminate", !!t.indeterminate);
    bar.dataset.state = t.stateText || t.state || t.status || "";
    fill.style.width = pct === null ? (t.indeterminate ? "" : "0%") : `${pct}%`;
    if (pct === null) bar.removeAttribute("aria-valuenow");
    else bar.setAttribute("aria-valuenow", String(pct));
  }

  function createJobRow() {
    return el("div", { class: "mend-row mend-job", role: "listitem" },
      el("div", { class: "mend-row-top" },
        el("span", { class: "mend-row-label" }),
        el("span", { class: "mend-row-state" })),
      el("div", { class: "mend-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" },
        el("div", { class: "mend-bar-fill" })),
      el("div", { class: "mend-row-figures mend-num" }, el("span", { class: "mend-steps" }), el("span", { class: "mend-node" })),
      el("div", { class: "mend-texts" }));
  }

  function updateJobRow(row, j) {
    const q = (s) => row.querySelector(s);
    row.dataset.state = j.status;
    row.classList.toggle("mend-foreign", !j.own);
    if (j.readOnly) row.setAttribute("aria-readonly", "true");
    else row.removeAttribute("aria-readonly");
    setText(q(".mend-row-label"), j.readOnly ? `${j.workflow} · read-only` : j.workflow);
    q(".mend-row-label").title = `${j.workflow} · prompt ${j.id}`;
    setText(q(".mend-row-state"), j.status);
    paintBar(q(".mend-bar"), { fraction: j.fraction, state: j.status, indeterminate: j.status === "running" && j.fraction === null });
    setText(q(".mend-steps"), j.steps);
    setText(q(".mend-node"), j.node ? `node ${j.node}` : "");
    keyed(q(".mend-texts"), j.texts, (t) => t.node,
      () => el("div", { class: "mend-text" }, el("span", { class: "mend-text-node" }), el("span", { class: "mend-text-body" })),
      (div, t) => {
        setText(div.firstChild, `#${t.node}`);
        setText(div.lastChild, t.text);
      });
  }

  return { root, render };
}

/** What the decision part depends on: not progress figures, so progress never rebuilds it. */
export function decisionSignature(vm) {
  const items = [...vm.nodeGroups.flatMap((g) => g.items), ...vm.models];
  return JSON.stringify([
    vm.reportSeq, vm.workflow?.key, vm.nodeGroups.map((g) => g.key),
    items.map((i) => [i.id, i.decision, i.pending, i.task?.id, i.task?.state, i.task?.interruptedReason,
      i.candidates?.map((c) => [c.reason, c.size, c.url]), i.error, i.confirmation, i.picked, !!i.waitsFor, i.searching,
      i.hint, i.lookingUp, i.unapplied]),
    vm.inactive.map((i) => [i.id, i.decision, i.pending, i.task?.id, i.task?.state, i.error, i.confirmation, i.candidates?.length,
      i.hint, i.lookingUp, i.unapplied]),
    vm.includeInactive, vm.folders,
  ]);
}
