/**
 * The server's JSON shapes, read and written in one place: tasks (`core/tasks/task_model.py`'s
 * `Task.to_json`), decisions as `POST /mend/decisions` takes them and as `GET /mend/decisions`
 * and the analysis report (`item.decision`) give them back.
 *
 * Inside the panel a decision is `{kind: "node"|"model", key, action: "choose"|"url"|"optional"|"skip",
 * candidate?, choice?, url?}`; these functions translate. Pure, tested under `node --test`.
 */

/** A task from `GET /mend/tasks` or a `mend.task` event, in the panel's shape. */
export function normaliseTask(raw) {
  const progress = raw.progress || {};
  const state = raw.state || raw.status || "queued";
  return {
    id: String(raw.id),
    kind: raw.kind || "task",
    state: state === "completed" || state === "done" ? "succeeded" : state,
    attempt: raw.attempt || 1,
    maxAttempts: raw.max_attempts ?? null,
    params: raw.params || {},
    target: raw.target || null,
    progress: {
      done: progress.done ?? raw.done ?? null,
      total: progress.total ?? raw.total ?? null,
      message: progress.message ?? raw.message ?? null,
      step: progress.step ?? raw.step ?? null,
      rate: progress.bytes_per_second ?? progress.rate ?? null,
      eta: progress.eta_seconds ?? null,
    },
    error: raw.error || null,
    result: raw.result || null,
    label: raw.label || raw.title || null,
    seq: raw.seq ?? null,
    resumable: !!raw.resumable,
    interruptedReason: raw.interrupted_reason ?? null,
    retryAt: raw.retry_at ?? null,
  };
}

/** The body of `POST /mend/decisions` for a panel decision (`graph` for an unsaved workflow). */
export function decisionBody(decision, workflow) {
  const body = { workflow: workflow.key };
  if (workflow.graph) body.graph = workflow.graph;
  body[decision.kind === "node" ? "node_type" : "model"] = decision.key;
  if (decision.action === "choose") {
    body.action = "candidate";
    // The index in the server's own analysis (a search may have reordered or added candidates here).
    body.candidate = decision.serverCandidate ?? decision.candidate;
  } else if (decision.action === "url") {
    body.action = "url";
    body.url = decision.url;
    if (decision.choice?.folder) body.folder = decision.choice.folder;
    if (decision.choice?.relpath) body.path = decision.choice.relpath;
  } else {
    body.action = decision.action;
  }
  if (decision.onExisting) body.on_existing = decision.onExisting; // the answer to a file_exists question
  return body;
}

function packMatches(candidate, pack) {
  const p = candidate?.pack;
  if (!p || !pack) return false;
  const norm = (s) => String(s || "").toLowerCase().replace(/\/+$/, "");
  return p.id === pack || norm(p.repository) === norm(pack);
}

/**
 * A stored resolution (GET /mend/decisions, or a report item's `decision`) as a panel decision.
 * `item` is the report's item (for candidate indexes); null when the resolution says nothing.
 */
export function decisionFromStored(kind, key, stored, item) {
  if (stored === null || stored === undefined) return null;
  const base = { kind, key, stored: true };
  if (kind === "node") {
    const value = typeof stored === "string" ? { status: "resolved", pack: stored } : stored === false ? { status: "optional" } : stored;
    if (value.status === "optional") return { ...base, action: "optional" };
    if (value.status === "skipped") return { ...base, action: "skip" };
    if (value.status === "resolved" && value.pack) {
      const index = (item?.candidates || []).findIndex((c) => packMatches(c, value.pack));
      const choice = index >= 0 ? item.candidates[index] : { pack: { id: value.pack, title: value.pack } };
      return { ...base, action: "choose", candidate: index >= 0 ? index : null, choice };
    }
    return null;
  }
  if (stored.status === "optional") return { ...base, action: "optional" };
  if (stored.status === "skipped") return { ...base, action: "skip" };
  if (stored.status !== "resolved" && stored.status !== "pending_download") return null;
  const choice = {
    kind: stored.status === "resolved" && !stored.url ? "local" : "download",
    folder: stored.folder,
    relpath: stored.path,
    url: stored.url || null,
    sha256: stored.sha256 || null,
    source: stored.source || null,
    reason: stored.source === "url" ? "url" : undefined,
  };
  if (stored.source === "url") return { ...base, action: "url", url: stored.url, choice };
  const index = (item?.candidates || []).findIndex((c) => c.folder === stored.folder && c.relpath === stored.path);
  return { ...base, action: "choose", candidate: index >= 0 ? index : null, choice: index >= 0 ? item.candidates[index] : choice };
}

/** Every decision a `GET /mend/decisions` answer holds, matched against the report's items. */
export function decisionsFromServer(body, report) {
  const out = [];
  const nodes = new Map((report?.missing_nodes || []).map((n) => [n.type, n]));
  const models = new Map((report?.missing_models || []).map((m) => [m.key, m]));
  for (const [type, stored] of Object.entries(body?.nodes || {})) {
    const d = decisionFromStored("node", type, stored, nodes.get(type));
    if (d) out.push(d);
  }
  for (const [key, stored] of Object.entries(body?.models || {})) {
    const d = decisionFromStored("model", key, stored, models.get(key));
    if (d) out.push(d);
  }
  return out;
}

/** Decisions the analysis report already carries (`item.decision`, when analysed with a workflow id). */
export function decisionsInReport(report) {
  const out = [];
  for (const n of report?.missing_nodes || []) {
    const d = decisionFromStored("node", n.type, n.decision, n);
    if (d) out.push(d);
  }
  for (const m of report?.missing_models || []) {
    const d = decisionFromStored("model", m.key, m.decision, m);
    if (d) out.push(d);
  }
  return out;
}
