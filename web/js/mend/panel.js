/**
 * The panel's DOM: missing node types grouped by pack, missing models with their candidates, the
 * progress of downloads and installs, and the jobs (prompts) with their progress text.
 *
 * `createPanel(doc, actions)` returns `{ root, render(vm) }`; `vm` comes from `view.js`. The
 * decision part is rebuilt only when what it shows changes (a decision, a task's state), keeping
 * the focused control focused; progress rows and jobs are updated in place. No ComfyUI import:
 * the entry module wires `actions` to the API and the graph.
 */

import { describeCandidate } from "./format.js";
import { h, keyed, setText } from "./dom.js";
import { chosenCandidate, headline, itemStatus } from "./view.js";

const STATE_WORDS = {
  queued: "queued",
  running: "running",
  succeeded: "done",
  failed: "failed",
  cancelled: "cancelled",
  interrupted: "interrupted",
};

export function createPanel(doc, actions) {
  const el = (tag, attrs, ...children) => h(doc, tag, attrs, ...children);
  const header = el("div", { class: "mend-header" });
  const banner = el("div", { class: "mend-banner", role: "status", hidden: true });
  const errorLine = el("div", { class: "mend-error", role: "alert" });
  const decisions = el("div", { class: "mend-decisions" });
  const tasksList = el("div", { class: "mend-rows", role: "list", "aria-label": "Downloads and installs" });
  const tasksSection = el(
    "section",
    { class: "mend-section mend-tasks", "aria-labelledby": "mend-tasks-h" },
    el("div", { class: "mend-section-head" },
      el("h3", { id: "mend-tasks-h" }, "Downloads & installs"),
      el("button", { class: "mend-btn mend-btn-text", onclick: () => actions.clearFinished() }, "Clear finished")),
    tasksList,
  );
  const jobsList = el("div", { class: "mend-rows", role: "list", "aria-label": "Jobs" });
  const followAll = el("input", { type: "checkbox", class: "mend-follow-all",
    onchange: (e) => actions.followAll?.(e.target.checked) });
  const jobsEmpty = el("div", { class: "mend-empty" }, "No prompt queued from this tab yet.");
  const jobsSection = el("section", { class: "mend-section mend-jobs", "aria-labelledby": "mend-jobs-h" },
    el("div", { class: "mend-section-head" },
      el("h3", { id: "mend-jobs-h" }, "Jobs"),
      el("label", { class: "mend-switch", title: "Also show other tabs' and clients' prompts, read-only" },
        followAll, "All clients")),
    jobsEmpty, jobsList);
  const root = el("div", { class: "mend-panel" }, header, banner, errorLine, decisions, tasksSection, jobsSection);
  let decisionsSignature = null;
  let headerSignature = null;

  function render(vm) {
    renderHeader(vm);
    renderBanner(vm);
    setText(errorLine, vm.error || "");
    errorLine.hidden = !vm.error;
    const signature = decisionSignature(vm);
    if (signature !== decisionsSignature) {
      decisionsSignature = signature;
      const focusKey = doc.activeElement?.dataset?.focus;
      const drafts = [...decisions.querySelectorAll("input[data-focus]")].map((i) => [i.dataset.focus, i.value]);
      decisions.replaceChildren(...renderDecisions(vm));
      for (const [key, value] of drafts) {
        const input = decisions.querySelector(`input[data-focus="${CSS.escape(key)}"]`);
        if (input) input.value = value;
      }
      if (focusKey) decisions.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`)?.focus();
    }
    updateMiniBars(vm);
    tasksSection.hidden = vm.tasks.length === 0;
    keyed(tasksList, vm.tasks, (t) => t.id, createTaskRow, updateTaskRow);
    followAll.checked = !!vm.followAll;
    jobsEmpty.hidden = vm.jobs.length > 0;
    keyed(jobsList, vm.jobs, (j) => j.id, createJobRow, updateJobRow);
  }

  function renderHeader(vm) {
    const summary = headline(vm);
    const signature = JSON.stringify([vm.workflow?.name, summary, vm.certain.length, vm.analyzing]);
    if (signature === headerSignature) return;
    headerSignature = signature;
    header.replaceChildren(
      el("div", { class: "mend-title-row" },
        el("h2", { class: "mend-title" }, "Mend"),
        el("span", { class: "mend-workflow", title: vm.workflow?.name || "" }, vm.workflow?.name || "")),
      el("p", { class: "mend-summary", "aria-live": "polite" }, summary),
      el("div", { class: "mend-toolbar" },
        el("button", {
          class: "mend-btn mend-btn-primary", disabled: vm.certain.length === 0,
          onclick: () => actions.fixAllCertain(), "data-focus": "fix-all",
          title: "Accept every missing item that has exactly one certain match",
        }, `Fix all certain (${vm.certain.length})`),
        el("button", { class: "mend-btn", onclick: () => actions.reanalyze(), "data-focus": "reanalyze",
          disabled: vm.analyzing }, "Analyse again")),
    );
  }

  function renderBanner(vm) {
    banner.hidden = vm.restart === "none";
    if (banner.hidden) return;
    const restarting = vm.restart === "restarting";
    if (banner.dataset.state === vm.restart) return;
    banner.dataset.state = vm.restart;
    banner.replaceChildren(
      el("span", {}, restarting ? "Restarting ComfyUI…" : "New node packs are installed: restart ComfyUI to load them."),
      el("button", { class: "mend-btn mend-btn-primary", disabled: restarting, onclick: () => actions.restart() },
        "Restart"),
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
          ? el("button", { class: "mend-btn mend-btn-primary", "data-focus": `group:${group.key}`,
            onclick: () => actions.installGroup(group) }, `Install (${group.items.length})`)
          : null),
      ...group.items.map(renderNodeItem));
  }

  function renderNodeItem(item) {
    return el("article", { class: `mend-item${item.decision ? " mend-decided" : ""}`, dataset: { item: item.id } },
      el("div", { class: "mend-item-head" },
        el("code", { class: "mend-name" }, item.type),
        statusChip(item)),
      el("div", { class: "mend-sub" },
        `node${item.node_ids.length === 1 ? "" : "s"} ${item.node_ids.join(", ")}${item.inactive ? " · muted/bypassed" : ""}`),
      candidateList(item),
      itemActions(item, false),
      miniBar(item));
  }

  function renderModel(item) {
    return el("article", { class: `mend-item${item.decision ? " mend-decided" : ""}`, dataset: { item: item.id } },
      el("div", { class: "mend-item-head" },
        el("code", { class: "mend-name", title: item.value }, item.value),
        statusChip(item)),
      el("div", { class: "mend-sub" },
        `${item.node_type} · ${item.input ?? `widget ${item.widget_index}`} · node ${item.node_id} → `,
        el("span", { class: "mend-folder" }, item.folder || "folder unknown")),
      candidateList(item),
      itemActions(item, true),
      miniBar(item));
  }

  function statusChip(item) {
    const status = itemStatus(item);
    return el("span", { class: `mend-chip mend-chip-${status.replace(/\s+/g, "-")}` }, item.pending ? "saving…" : status);
  }

  function candidateList(item) {
    if (!item.candidates?.length) return el("p", { class: "mend-sub mend-none" }, "No source known: paste a URL, or mark it optional.");
    const chosen = chosenCandidate(item, item.decision);
    return el("ul", { class: "mend-cands", role: "list" }, ...item.candidates.map((c, index) => {
      const d = describeCandidate(c);
      const selected = chosen === c || (item.decision?.action === "choose" && item.decision.candidate === index);
      return el("li", {},
        el("button", {
          class: `mend-cand${selected ? " mend-selected" : ""}`, "aria-pressed": selected ? "true" : "false",
          "data-focus": `${item.id}:cand:${index}`, onclick: () => actions.choose(item, index),
          title: d.href || d.title,
        },
        el("span", { class: "mend-cand-title" }, d.title),
        el("span", { class: "mend-cand-reason" }, `${d.reason}${d.confidence ? ` · ${d.confidence}` : ""}`),
        el("span", { class: "mend-cand-meta" }, [d.size, d.source].filter(Boolean).join(" · "))));
    }));
  }

  function itemActions(item, allowUrl) {
    const input = allowUrl
      ? el("input", { class: "mend-url", type: "url", placeholder: "Paste a URL (https://…)", "aria-label": `URL for ${item.value}`,
        "data-focus": `${item.id}:url`, onkeydown: (e) => e.key === "Enter" && submitUrl() })
      : null;
    function submitUrl() {
      const url = input.value.trim();
      if (url) actions.pasteUrl(item, url);
    }
    return el("div", { class: "mend-item-actions" },
      input,
      input ? el("button", { class: "mend-btn", "data-focus": `${item.id}:use-url`, onclick: submitUrl }, "Use URL") : null,
      el("button", { class: "mend-btn mend-btn-text", "data-focus": `${item.id}:optional`,
        "aria-pressed": item.decision?.action === "optional" ? "true" : "false", onclick: () => actions.optional(item) }, "Optional"),
      el("button", { class: "mend-btn mend-btn-text", "data-focus": `${item.id}:skip`,
        "aria-pressed": item.decision?.action === "skip" ? "true" : "false", onclick: () => actions.skip(item) }, "Skip"));
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
      if (row) paintBar(bar.querySelector(".mend-bar"), row), setText(bar.querySelector(".mend-mini-pct"), row.percent || STATE_WORDS[row.state]);
    }
  }

  function createTaskRow() {
    return el("div", { class: "mend-row", role: "listitem" },
      el("div", { class: "mend-row-top" },
        el("span", { class: "mend-row-label" }),
        el("span", { class: "mend-pct mend-num" }),
        el("span", { class: "mend-row-buttons" },
          el("button", { class: "mend-btn mend-btn-text mend-cancel" }, "Cancel"),
          el("button", { class: "mend-btn mend-btn-text mend-retry" }, "Retry"))),
      el("div", { class: "mend-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" },
        el("div", { class: "mend-bar-fill" })),
      el("div", { class: "mend-row-figures mend-num" },
        el("span", { class: "mend-bytes" }), el("span", { class: "mend-rate" }), el("span", { class: "mend-eta" }),
        el("span", { class: "mend-row-state" })),
      el("div", { class: "mend-row-message" }));
  }

  function updateTaskRow(row, t) {
    const q = (s) => row.querySelector(s);
    row.dataset.state = t.state;
    setText(q(".mend-row-label"), t.label);
    q(".mend-row-label").title = t.label;
    q(".mend-bar").setAttribute("aria-label", t.label);
    setText(q(".mend-row-state"), [t.attempt, STATE_WORDS[t.state] || t.state].filter(Boolean).join(" · "));
    const cancel = q(".mend-cancel");
    const retry = q(".mend-retry");
    cancel.hidden = !t.canCancel;
    retry.hidden = !t.canRetry;
    cancel.onclick = () => actions.cancel(t.id);
    retry.onclick = () => actions.retry(t.id);
    cancel.setAttribute("aria-label", `Cancel ${t.label}`);
    retry.setAttribute("aria-label", `Retry ${t.label}`);
    paintBar(q(".mend-bar"), t);
    setText(q(".mend-pct"), t.percent);
    setText(q(".mend-bytes"), t.bytes);
    setText(q(".mend-rate"), t.rate);
    setText(q(".mend-eta"), t.eta ? `ETA ${t.eta}` : "");
    setText(q(".mend-row-message"), t.message);
  }

  function paintBar(bar, t) {
    const fill = bar.firstElementChild;
    const pct = t.fraction === null || t.fraction === undefined ? null : Math.round(t.fraction * 1000) / 10;
    bar.classList.toggle("mend-indeterminate", !!t.indeterminate);
    bar.dataset.state = t.state || t.status || "";
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
    items.map((i) => [i.id, i.decision, i.pending, i.task?.id, i.task?.state, i.candidates?.length]),
  ]);
}
