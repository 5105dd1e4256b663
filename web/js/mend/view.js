/**
 * What the panel shows, derived from the state: missing node types grouped by the pack that would
 * provide them, missing models with their loader and folder, the task working on each, the
 * "certain" items "Fix all certain" would accept, and the rows of the progress and jobs views.
 *
 * Pure (no DOM, no ComfyUI), so grouping and linking are tested under `node --test`.
 */

import {
  etaSeconds, fraction, formatBytes, formatEta, formatPercent, formatRate, LINK_OUTCOMES, missingSummary,
} from "./format.js";
import { FINAL_STATES, itemId } from "./state.js";

/** The key a pack is grouped and installed by. */
export function packKey(pack) {
  if (!pack) return "";
  return pack.id || pack.repository || pack.title || "";
}

/** The candidate a decision picked, or null (pasted URL, optional, skip). */
export function chosenCandidate(item, decision) {
  if (!decision || decision.action !== "choose") return null;
  const list = item.candidates || [];
  // A background search may reorder the list: the chosen candidate is found by what it is, not where.
  const same = decision.choice ? list.find((c) => sameCandidate(c, decision.choice)) : null;
  if (same) return same;
  if (Number.isInteger(decision.candidate) && !decision.choice) return list[decision.candidate] ?? null;
  return decision.choice || null;
}

/** Two candidates for the same thing: the same pack, or the same file from the same place. */
export function sameCandidate(a, b) {
  if (!a || !b) return false;
  if (a.pack || b.pack) return !!(a.pack && b.pack && packKey(a.pack) === packKey(b.pack));
  return a.kind === b.kind && (a.url || null) === (b.url || null) && a.relpath === b.relpath
    && (a.folder || null) === (b.folder || null);
}

/** What a model decision downloads: the chosen candidate, or a pasted URL's own target. */
export function decisionTarget(item, decision) {
  if (decision?.action === "url") return decision.choice || { url: decision.url, folder: item.folder };
  return chosenCandidate(item, decision);
}

/** Does a task work on this item? Downloads by target file (or URL), installs by pack. */
export function taskMatches(task, item, decision) {
  const p = task.params || {};
  if (p.key !== undefined && p.key === item.key) return true;
  if (item.kind === "model") {
    const c = decisionTarget(item, decision);
    if (!c) return false;
    const folder = p.folder;
    const rel = p.relpath ?? p.filename ?? p.path;
    if (folder && rel && folder === c.folder && rel === c.relpath) return true;
    return !!(p.url && c.url && p.url === c.url && (!folder || !c.folder || folder === c.folder));
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

const INACTIVE_MODES = new Set([2, 4]); // 2 muted ("never"), 4 bypassed: the node does not run

function withState(state, item) {
  item.decision = state.decisions[item.id] || null;
  item.pending = !!state.pendingDecisions[item.id];
  item.task = latestTask(state, item, item.decision);
  item.error = state.itemErrors[item.id] || null;
  item.unapplied = state.unapplied?.[item.id] || null;
  item.lookingUp = !!state.lookingUp?.[item.id];
  item.hint = state.itemHints?.[item.id] || null;
  item.confirmation = state.confirmations[item.id] || null;
  return item;
}

function nodeItems(state) {
  return (state.report?.missing_nodes || []).map((n) =>
    withState(state, { ...n, kind: "node", key: n.type, id: itemId("node", n.type), inactive: !!n.inactive }));
}

/** The references of one model item: the server's list (one file, one item) or the item itself. */
function refsOf(m) {
  if (Array.isArray(m.refs) && m.refs.length) return m.refs;
  return [{ key: m.key, node_id: m.node_id, node_type: m.node_type, input: m.input, widget_index: m.widget_index,
    mode: m.mode ?? 0 }];
}

/** Folder sources that come from names (the node's, the file's), not the loader: shown as a guess, with a picker. */
const GUESSED_SOURCES = new Set(["node_hint", "guess", "unknown"]);

/** The file a model reference names, so references to one file form one item. */
export function fileKey(m) {
  return `${m.folder ?? "?"}/${String(m.value || "").replace(/\\/g, "/").replace(/^\/+/, "")}`;
}

/**
 * Missing models as the panel lists them: one item per file, listing every node that uses it, with
 * the folder it goes to (a guess shown as one), whether it waits for its loader's pack, and whether
 * any node that uses it runs at all.
 */
function modelItems(state) {
  const byFile = new Map();
  const byKey = new Map((state.report?.missing_models || []).map((m) => [m.key, m]));
  if (Array.isArray(state.report?.model_files)) {
    // The server's "one file, one item": its primary reference (the first that runs) carries the candidates.
    for (const f of state.report.model_files) {
      const primary = f.nodes?.find((n) => !n.mark) || f.nodes?.[0];
      const m = byKey.get(primary?.key);
      // A file the loader's pack downloads on first use is listed apart, like one no running node needs.
      if (m) byFile.set(f.file, { ...m, refs: f.nodes, inactive: !!f.inactive || !!f.fetched_by_pack,
        mark: f.mark ?? null, fetchedByPack: !!f.fetched_by_pack });
    }
  } else {
    for (const m of state.report?.missing_models || []) {
      const k = fileKey(m);
      if (byFile.has(k)) byFile.get(k).refs.push(...refsOf(m));
      else byFile.set(k, { ...m, refs: [...refsOf(m)] });
    }
  }
  const missingTypes = new Map((state.report?.missing_nodes || []).map((n) => [n.type, n]));
  const known = new Set(state.folders || []);
  return [...byFile.values()].map((m) => {
    const item = { ...m, kind: "model", id: itemId("model", m.key) };
    item.node_ids = item.refs.map((r) => r.node_id);
    item.inactive = m.inactive ?? item.refs.every((r) => INACTIVE_MODES.has(r.mode ?? 0));
    item.picked = state.folderChoice[item.id] || null;
    item.folders = state.folders || [];
    item.guessed = GUESSED_SOURCES.has(m.folder_source) || !m.folder;
    const loader = missingTypes.get(m.node_type);
    const folderKnown = !!(item.picked || (m.folder && (!known.size || known.has(m.folder))));
    // A loader of a pack not installed yet: its folder exists only once the pack is loaded.
    item.waitsFor = loader && (!folderKnown || item.guessed) && !item.picked
      ? { type: loader.type, pack: loader.candidates?.[0]?.pack || null } : null;
    return withState(state, item);
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

/** A candidate the hub said is gated or gone, or whose link's server said it cannot work: listed, never "certain". */
export function isDoubtful(candidate) {
  return candidate?.reason === "gated" || candidate?.reason === "unavailable" || candidate?.reason === "link_problem"
    || !!candidate?.gated;
}

/** The status word of a doubtful candidate: "gated", "link gone", or the link probe's outcome ("needs login"...). */
function doubtWord(candidate) {
  if (candidate.reason === "gated") return "gated";
  return LINK_OUTCOMES[candidate.probe?.outcome] || "link gone";
}

/**
 * Items "Fix all certain" accepts: auto (a unique certain match), not decided yet, not waiting for a
 * pack, and only items of nodes that run unless `includeInactive`.
 */
export function certainItems(items, includeInactive = false) {
  return items.filter((i) => i.auto && !i.decision && i.candidates?.length && !isDoubtful(i.candidates[0])
    && !i.waitsFor && (includeInactive || !i.inactive));
}

/**
 * What an item without candidates says: what it uses, a look-up in flight, or why no source is known —
 * a hub that could not be reached is not "nothing found".
 */
export function noSourceText(item) {
  if (item.decision?.action === "url") return `From your link: ${item.decision.url}`;
  if (item.lookingUp || item.searching) return "Searching Hugging Face…";
  if (item.note) return item.note;
  if (item.fetchedByPack) {
    return "Its pack downloads this file the first time the node runs: nothing to do, unless you want to place it yourself.";
  }
  if (item.search_errors?.length) {
    return `The hub could not be asked (${item.search_errors[0]}), so this is not "nothing found": Search again later, paste a URL, or mark it optional.`;
  }
  return "No source known: search the hub, paste a URL, or mark it optional.";
}

/** A short status word for an item: what the user sees beside its name. */
export function itemStatus(item) {
  const d = item.decision;
  if (item.confirmation) return "confirm";
  if (item.unapplied) return "not applied";
  if (item.task) {
    const s = item.task.state;
    if (s === "succeeded") return item.kind === "model" ? "downloaded" : "installed";
    if (s === "failed") return "failed";
    if (s === "cancelled") return "cancelled";
    if (s === "interrupted") return item.task.interruptedReason === "paused" ? "paused" : "interrupted";
    return item.kind === "model" ? "downloading" : "installing";
  }
  if (item.error) return "failed";
  if (item.lookingUp) return "searching…";
  if (!d) {
    if (item.waitsFor) return "waits for pack";
    if (isDoubtful(item.candidates?.[0])) return doubtWord(item.candidates[0]);
    return item.status === "unknown" || !item.candidates?.length ? (item.searching ? "searching…" : "no source")
      : item.auto ? "certain" : "choose";
  }
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
  if (item.unapplied) return false; // the graph still names another file: a run would fail
  if (item.task?.state === "succeeded") return true;
  return chosenCandidate(item, item.decision)?.kind === "local";
}

/** Does a run fail without it? Not when its nodes are bypassed or muted, nor once marked optional. */
export function isBlocking(item) {
  return !item.inactive && item.decision?.action !== "optional" && !isFixed(item);
}

/** Has the item failed (its task, or the last action on it)? */
export function isFailed(item) {
  return !!item.error || item.task?.state === "failed";
}

/** The header's one line: what still blocks a run, what does not, what got fixed, what waits, what failed. */
export function headline(vm) {
  if (vm.busy) return "Analysing: the server is busy…";
  if (vm.analyzing) return "Analysing…";
  if (!vm.report) return vm.analysisError ? "The analysis failed." : "No analysis yet.";
  if (vm.total === 0) return "Nothing is missing.";
  if (vm.fixed === vm.total) return `All ${vm.total} fixed.`;
  const blocking = missingSummary(vm.unfixed);
  return [blocking ? `${blocking} missing` : "nothing blocks a run",
    vm.inactiveCount ? `${vm.inactiveCount} not blocking` : "",
    vm.fixed ? `${vm.fixed} fixed` : "", `${vm.openCount} to decide`,
    vm.failedCount ? `${vm.failedCount} failed` : ""]
    .filter(Boolean).join(" · ");
}

export function viewModel(state) {
  const nodes = nodeItems(state);
  const models = modelItems(state).map((m) => Object.assign(m, { searching: state.searching }));
  const all = [...nodes, ...models];
  const open = all.filter((i) => !i.decision);
  const fixed = all.filter(isFixed);
  const blocking = all.filter(isBlocking);
  return {
    workflow: state.workflow,
    analyzing: state.analyzing,
    searching: state.searching,
    busy: state.busy,
    analysisError: state.analysisError,
    error: state.error,
    report: state.report,
    reportSeq: state.reportSeq,
    nodeGroups: groupNodes(nodes.filter((i) => !i.inactive)),
    models: models.filter((i) => !i.inactive),
    inactive: all.filter((i) => i.inactive),
    includeInactive: state.includeInactive,
    folders: state.folders,
    certain: certainItems(all, state.includeInactive),
    openCount: open.length,
    total: all.length,
    fixed: fixed.length,
    inactiveCount: all.filter((i) => i.inactive && !isFixed(i)).length,
    failedCount: all.filter(isFailed).length,
    blockingCount: blocking.length,
    unfixed: { missing_nodes: blocking.filter((i) => i.kind === "node"), missing_models: blocking.filter((i) => i.kind === "model") },
    tasks: taskRows(state),
    jobs: jobRows(state),
    followAll: state.followAll,
    restart: state.restart,
    importFailures: state.importFailures || [],
  };
}

/** A task as one fixed-height row: label, bar fraction, and figures already formatted. */
export function taskRow(task, rateState) {
  const p = task.progress;
  const running = task.state === "running";
  const frac = task.state === "succeeded" ? 1 : fraction(p.done, p.total);
  const rate = p.rate ?? rateState?.rate ?? null;
  const bytes = task.kind.includes("download") || !!task.params?.url || p.total > 4096;
  const eta = running ? (p.eta ?? etaSeconds(p.done, p.total, rate)) : null;
  return {
    id: task.id,
    kind: task.kind,
    state: task.state,
    label: task.label || taskLabel(task),
    fraction: frac,
    percent: frac === null ? "" : formatPercent(frac),
    bytes: bytes ? (p.done !== null || p.total ? `${formatBytes(p.done ?? 0)} / ${formatBytes(p.total)}` : "")
      : p.total ? `step ${p.done ?? 0} of ${p.total}` : "",
    rate: running && bytes ? formatRate(rate) : "",
    eta: running ? formatEta(eta) : "",
    attempt: task.resumed ? "resumed" : task.attempt > 1 ? `attempt ${task.attempt}${task.maxAttempts ? ` of ${task.maxAttempts}` : ""}` : "",
    message: taskMessage(task),
    stateText: task.state === "interrupted" && task.interruptedReason === "paused" ? "paused" : task.state,
    canCancel: !FINAL_STATES.has(task.state),
    canPause: (task.state === "running" || task.state === "queued") && task.resumable,
    canResume: task.state === "interrupted",
    canRetry: task.state === "failed" || task.state === "cancelled",
    indeterminate: running && frac === null,
  };
}

/** The row's last line: why it failed, what step runs, or what the finished task produced. */
export function taskMessage(task) {
  if (task.error?.message) return task.error.message;
  if (task.state === "succeeded") {
    const r = task.result || {};
    if (r.status === "present") {
      return r.kept ? "already there: kept, as you said it is the same file" : `already there: ${r.why || "verified"}`;
    }
    if (r.replaced) return `verified; the old file is now ${r.replaced}`;
    if (r.verified) return "verified" + (r.sha256 ? ` · sha256 ${String(r.sha256).slice(0, 12)}…` : "");
    return r.message || "";
  }
  if (task.state === "queued" && task.retryAt) return "waiting to retry";
  if (task.state === "interrupted") {
    return task.interruptedReason === "paused" ? "the part is kept: Resume continues it"
      : "interrupted by a restart: Resume continues it";
  }
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
  const cleared = state.clearedTasks || {};
  return state.taskOrder.filter((id) => !cleared[id]).map((id) => taskRow(state.tasks[id], state.rates[id])).reverse();
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
      // A prompt that succeeded ran every step, whatever the last progress event said ("0 / 1").
      steps: !p.max ? "" : p.status === "success" ? `${p.max} / ${p.max}` : `${p.value} / ${p.max}`,
      node: p.node,
      texts,
    }];
  });
  rows.sort((a, b) => (rank[a.status] ?? 2) - (rank[b.status] ?? 2) || b.order - a.order);
  return rows;
}
