/**
 * What the panel shows, derived from the state: missing node types grouped by the pack that would
 * provide them, missing models with their loader and folder, the task working on each, the
 * "certain" items "Fix all certain" would accept, and the rows of the progress and jobs views.
 *
 * Pure (no DOM, no ComfyUI), so grouping and linking are tested under `node --test`.
 */

import { etaSeconds, fraction, formatBytes, formatEta, formatPercent, formatRate, missingSummary } from "./format.js";
import { FINAL_STATES, itemId } from "./state.js";

/** The key a pack is grouped and installed by. */
export function packKey(pack) {
  if (!pack) return "";
  return pack.id || pack.repository || pack.title || "";
}

/** The candidate a decision picked, or null (pasted URL, optional, skip). */
export function chosenCandidate(item, decision) {
  if (!decision || decision.action !== "choose") return null;
  if (Number.isInteger(decision.candidate)) return item.candidates?.[decision.candidate] ?? null;
  return decision.choice || null;
}

/** Does a task work on this item? Downloads by target file, installs by pack. */
export function taskMatches(task, item, decision) {
  const p = task.params || {};
  if (p.key !== undefined && p.key === item.key) return true;
  if (item.kind === "model") {
    const c = chosenCandidate(item, decision) || (decision?.action === "url" ? decision : null);
    const folder = p.folder;
    const rel = p.relpath ?? p.filename ?? p.path;
    if (c && folder && rel && folder === c.folder && rel === c.relpath) return true;
    if (c && p.url && c.url && p.url === c.url && (!folder || folder === c.folder)) return true;
    return false;
  }
  const pack = chosenCandidate(item, decision)?.pack;
  if (!pack) return false;
  const ids = [p.pack, p.id, p.pack_id, p.repository, p.url].filter(Boolean).map(String);
  return ids.some((x) => x === pack.id || x.toLowerCase().replace(/\/$/, "") === (pack.repository || "").toLowerCase());
}

function latestTask(state, item, decision) {
  let found = null;
  for (const id of state.taskOrder) {
    const task = state.tasks[id];
    if (taskMatches(task, item, decision)) found = task; // the newest attempt wins
  }
  return found;
}

function nodeItems(state) {
  return (state.report?.missing_nodes || []).map((n) => {
    const item = { ...n, kind: "node", key: n.type, id: itemId("node", n.type) };
    item.decision = state.decisions[item.id] || null;
    item.pending = !!state.pendingDecisions[item.id];
    item.task = latestTask(state, item, item.decision);
    return item;
  });
}

function modelItems(state) {
  return (state.report?.missing_models || []).map((m) => {
    const item = { ...m, kind: "model", id: itemId("model", m.key) };
    item.decision = state.decisions[item.id] || null;
    item.pending = !!state.pendingDecisions[item.id];
    item.task = latestTask(state, item, item.decision);
    return item;
  });
}

/**
 * Missing node types grouped by the pack that provides them: the chosen pack when decided, else
 * the top candidate. One install covers a whole group. Types nobody provides form the last group.
 */
export function groupNodes(items) {
  const groups = new Map();
  for (const item of items) {
    const candidate = chosenCandidate(item, item.decision) || item.candidates?.[0] || null;
    const pack = candidate?.pack || null;
    const key = pack ? packKey(pack) : "";
    // candidate.install (server): the body to POST and the source it will use, shown before the click
    if (!groups.has(key)) groups.set(key, { key, pack, install: candidate?.install || null, items: [] });
    groups.get(key).items.push(item);
  }
  const list = [...groups.values()];
  list.sort((a, b) => (a.key === "") - (b.key === "") || b.items.length - a.items.length);
  return list;
}

/** Items "Fix all certain" accepts: auto (a unique certain match) and not decided yet. */
export function certainItems(items) {
  return items.filter((i) => i.auto && !i.decision && i.candidates?.length);
}

/** A short status word for an item: what the user sees beside its name. */
export function itemStatus(item) {
  const d = item.decision;
  if (item.task) {
    const s = item.task.state;
    if (s === "succeeded") return item.kind === "model" ? "downloaded" : "installed";
    if (s === "failed") return "failed";
    if (s === "cancelled") return "cancelled";
    return item.kind === "model" ? "downloading" : "installing";
  }
  if (!d) return item.status === "unknown" ? "no source" : item.auto ? "certain" : "choose";
  if (d.action === "optional") return "optional";
  if (d.action === "skip") return "skipped";
  if (d.action === "url") return "URL";
  const c = chosenCandidate(item, d);
  if (c?.kind === "local") return "uses local file";
  return "chosen";
}

/**
 * Is the item no longer missing? Its download or install finished, or it now uses a file already on
 * disk. (An installed pack's nodes appear after the restart the banner asks for.)
 */
export function isFixed(item) {
  if (item.task?.state === "succeeded") return true;
  return chosenCandidate(item, item.decision)?.kind === "local";
}

/** The header's one line: what is still missing, what got fixed, what waits for a decision. */
export function headline(vm) {
  if (vm.analyzing) return "Analysing…";
  if (!vm.report) return "No analysis yet.";
  if (vm.total === 0) return "Nothing is missing.";
  if (vm.fixed === vm.total) return `All ${vm.total} fixed.`;
  return [`${missingSummary(vm.unfixed)} missing`, vm.fixed ? `${vm.fixed} fixed` : "", `${vm.openCount} to decide`]
    .filter(Boolean).join(" · ");
}

export function viewModel(state) {
  const nodes = nodeItems(state);
  const models = modelItems(state);
  const all = [...nodes, ...models];
  const open = all.filter((i) => !i.decision);
  const fixed = all.filter(isFixed);
  return {
    workflow: state.workflow,
    analyzing: state.analyzing,
    error: state.error,
    report: state.report,
    reportSeq: state.reportSeq,
    nodeGroups: groupNodes(nodes),
    models,
    certain: certainItems(all),
    openCount: open.length,
    total: all.length,
    fixed: fixed.length,
    unfixed: { missing_nodes: nodes.filter((i) => !isFixed(i)), missing_models: models.filter((i) => !isFixed(i)) },
    tasks: taskRows(state),
    jobs: jobRows(state),
    followAll: state.followAll,
    restart: state.restart,
  };
}

/** A task as one fixed-height row: label, bar fraction, and figures already formatted. */
export function taskRow(task, rateState) {
  const p = task.progress;
  const running = task.state === "running";
  const frac = task.state === "succeeded" ? 1 : fraction(p.done, p.total);
  const rate = p.rate ?? rateState?.rate ?? null;
  const bytes = task.kind.includes("download") || p.total > 4096;
  const eta = running ? (p.eta ?? etaSeconds(p.done, p.total, rate)) : null;
  return {
    id: task.id,
    kind: task.kind,
    state: task.state,
    label: task.label || taskLabel(task),
    fraction: frac,
    percent: frac === null ? "" : formatPercent(frac),
    bytes: bytes && p.done !== null ? `${formatBytes(p.done)} / ${formatBytes(p.total)}` : p.total ? `${p.done ?? 0} / ${p.total}` : "",
    rate: running && bytes ? formatRate(rate) : "",
    eta: running ? formatEta(eta) : "",
    attempt: task.attempt > 1 ? `attempt ${task.attempt}${task.maxAttempts ? ` of ${task.maxAttempts}` : ""}` : "",
    message: taskMessage(task),
    canCancel: !FINAL_STATES.has(task.state),
    canRetry: task.state === "failed" || task.state === "cancelled" || task.state === "interrupted",
    indeterminate: running && frac === null,
  };
}

/** The row's last line: why it failed, what step runs, or what the finished task produced. */
export function taskMessage(task) {
  if (task.error?.message) return task.error.message;
  if (task.state === "succeeded") {
    const r = task.result || {};
    if (r.verified) return "verified" + (r.sha256 ? ` · sha256 ${String(r.sha256).slice(0, 12)}…` : "");
    return r.message || "";
  }
  if (task.state === "queued" && task.retryAt) return "waiting to retry";
  return task.progress.message || (task.progress.step ? `step: ${task.progress.step}` : "");
}

export function taskLabel(task) {
  const p = task.params || {};
  // The file first: when the label is cut, the name stays visible and the folder goes.
  if (p.folder && (p.relpath || p.filename)) return `${p.relpath || p.filename} · ${p.folder}`;
  if (p.pack || p.id) return `${p.title || p.pack || p.id}`;
  if (p.repository || p.url) return String(p.repository || p.url);
  return task.target || `${task.kind} ${task.id}`;
}

function taskRows(state) {
  return state.taskOrder.map((id) => taskRow(state.tasks[id], state.rates[id])).reverse();
}

/**
 * This tab's prompts (running and queued first, then the few finished ones), labelled with their
 * workflow; with the "all clients" switch on, other prompts too, as labelled read-only rows.
 */
export function jobRows(state) {
  const rank = { running: 0, queued: 1 };
  const rows = state.promptOrder.flatMap((id, i) => {
    const p = state.prompts[id];
    if (!p.own && !state.followAll) return [];
    const frac = p.max ? p.value / p.max : null;
    const texts = Object.entries(p.texts).map(([node, text]) => ({ node, text }));
    return [{
      id,
      order: i,
      workflow: p.own ? p.workflow || "this tab" : "another tab or client",
      own: !!p.own,
      readOnly: !p.own,
      status: p.status,
      fraction: p.status === "success" || p.status === "done" ? 1 : frac,
      steps: p.max ? `${p.value} / ${p.max}` : "",
      node: p.node,
      texts,
    }];
  });
  rows.sort((a, b) => (rank[a.status] ?? 2) - (rank[b.status] ?? 2) || b.order - a.order);
  return rows;
}
