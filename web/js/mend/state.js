/**
 * The panel's state, and the one reducer that changes it from events: analysis results, decisions,
 * task events from the websocket or from `GET /mend/tasks`, and prompt execution events.
 *
 * Pure: `reduce(state, action)` returns a new state and never touches the DOM, the network or the
 * clock (actions that need time carry `now`), so the panel's behaviour is tested under `node --test`
 * by replaying events. The entry module turns websocket messages into actions; the panel renders
 * whatever state results.
 *
 *     let s = initialState();
 *     s = reduce(s, { type: "task/event", task: { id: "t1", kind: "download", state: "running",
 *                                                  progress: { done: 5, total: 10 } }, now: 1000 });
 *     s.tasks.t1.progress.done  // 5
 */

import { rateSample } from "./throttle.js";
import { decisionsInReport, normaliseTask } from "./wire.js";

export { normaliseTask };

/** Task states in which nothing will happen any more. */
export const FINAL_STATES = new Set(["succeeded", "failed", "cancelled"]);
/** Final states whose rows "Clear finished" tidies away (a failed task stays: it asks for a Retry). */
export const TIDY_STATES = new Set(["succeeded", "cancelled"]);
/** Kinds of task after which ComfyUI must restart to load new nodes. */
export const RESTART_KINDS = new Set(["install", "install_pack", "nodes.install", "pack_install"]);
/** How many finished prompts the jobs view keeps. */
export const KEEP_FINISHED_PROMPTS = 5;

export function initialState() {
  return {
    workflow: null, // { key, name }: the open workflow the analysis is about
    report: null, // POST /mend/analyze's answer
    reportSeq: 0, // counts analyses, so views know the report changed
    analyzing: false,
    busy: null, // { seconds, attempt, tries }: the server answered 429; the analysis is asked again in `seconds`
    analysisError: null, // { message, code }: why the last analysis failed (shown with Retry)
    error: null,
    decisions: {}, // itemId -> decision, itemId = "node:<type>" | "model:<key>"
    pendingDecisions: {}, // itemId -> true while the POST is in flight
    tasks: {}, // id -> normalised task
    taskOrder: [], // ids, oldest first
    clearedTasks: {}, // id -> true: rows "Clear finished" tidied away (the tasks still count for their items)
    rates: {}, // id -> rateSample state
    restart: "none", // "none" | "required" | "restarting" | "refreshing" | "reload" (the page must reload)
    itemErrors: {}, // itemId -> why the last action on that item failed (shown at the item, with Retry)
    lookingUp: {}, // itemId -> true while its Search asks the hub (a look-up, not a download)
    itemHints: {}, // itemId -> a word at the item that is no failure: "hub unreachable", "nothing found", what to paste
    unapplied: {}, // itemId -> { named, value }: decided, but its node in the open graph could not be pointed at the file
    // itemId -> { question: "pickle" | "incompatible", message, params, conflicts?, items? }: a download or
    // an install that waits for the user's answer, asked at the item (`items`: what Cancel undoes)
    confirmations: {},
    searching: false, // POST /mend/models/search runs in the background for models without a certain source
    searchedSeq: -1, // the reportSeq the last search answered for
    folders: [], // ComfyUI's model folders (GET /models): the folder picker's choices
    folderChoice: {}, // itemId -> a folder the user picked for a guessed one
    includeInactive: false, // "Fix all certain" also takes items of bypassed or muted nodes
    prompts: {}, // prompt_id -> { id, own, workflow, status, value, max, node, texts, number }
    promptOrder: [],
    followAll: false, // the jobs view's "all clients" switch: other prompts shown as read-only rows
    importFailures: [], // packs Mend installed that failed to import after the restart (GET /mend/nodes/installed)
  };
}

/** The id the panel and decisions use for one missing thing. */
export function itemId(kind, key) {
  return `${kind}:${key}`;
}

function without(map, key) {
  if (!(key in map)) return map;
  const next = { ...map };
  delete next[key];
  return next;
}

/** Each candidate remembers its index in the server's analysis: decisions name candidates by it. */
export function indexCandidates(report) {
  if (!report) return report;
  const mark = (list) => (list || []).map((c, k) => ({ ...c, server_index: k }));
  return {
    ...report,
    missing_nodes: (report.missing_nodes || []).map((n) => ({ ...n, candidates: mark(n.candidates) })),
    missing_models: (report.missing_models || []).map((m) => ({ ...m, candidates: mark(m.candidates) })),
  };
}

function candidateKey(c) {
  return `${c.kind}|${c.url || ""}|${c.folder || ""}|${c.relpath || ""}`;
}

/** The report with the searched models' candidates (sizes, hashes, gated, gone, new hits) in place. */
function mergeSearch(report, searched) {
  if (!report || !searched?.missing_models) return report;
  const byKey = new Map(searched.missing_models.map((m) => [m.key, m]));
  const missing_models = report.missing_models.map((m) => {
    const found = byKey.get(m.key);
    if (!found || found.value !== m.value) return m; // another file now: what was found is not about it
    const original = new Map(m.candidates.map((c) => [candidateKey(c), c.server_index]));
    // A confirmed link may change its URL (a blob link becomes a resolve link): it keeps its index.
    const before = (c) => original.get(candidateKey(c)) ?? original.get(candidateKey({ ...c, url: c.original_url }));
    const candidates = found.candidates.map((c) => ({ ...c, server_index: before(c) ?? null }));
    return { ...m, candidates, status: found.status, auto: found.auto, search_errors: found.search_errors };
  });
  return { ...report, missing_models, search: searched.search ?? null };
}

function upsertTask(state, raw, now) {
  const task = normaliseTask(raw);
  const previous = state.tasks[task.id];
  // Events can arrive out of order with a snapshot: never move a final task back to running.
  if (previous && FINAL_STATES.has(previous.state) && !FINAL_STATES.has(task.state) && task.attempt <= previous.attempt) {
    return state;
  }
  // The server numbers each task's events: an older one arriving late is dropped.
  if (previous && task.seq !== null && previous.seq !== null && task.seq < previous.seq) return state;
  // A paused or interrupted download that runs again is resumed, not retried: its row says so.
  task.interruptedAt = task.state === "interrupted" ? task.attempt : previous?.interruptedAt ?? null;
  task.resumed = task.interruptedAt !== null && task.attempt === task.interruptedAt + 1;
  const tasks = { ...state.tasks, [task.id]: task };
  const taskOrder = previous ? state.taskOrder : [...state.taskOrder, task.id];
  // A tidied task that runs again (Retry) shows its row again.
  const clearedTasks = TIDY_STATES.has(task.state) ? state.clearedTasks : without(state.clearedTasks || {}, task.id);
  const rates = { ...state.rates };
  if (task.state === "running" && task.progress.done !== null && now !== undefined) {
    const prevRate = previous && previous.attempt === task.attempt ? rates[task.id] : null;
    rates[task.id] = rateSample(prevRate, task.progress.done, now);
  } else if (task.state !== "running") {
    delete rates[task.id];
  }
  let restart = state.restart;
  const becameDone = task.state === "succeeded" && (!previous || previous.state !== "succeeded");
  if (becameDone && RESTART_KINDS.has(task.kind) && task.result?.restart_required !== false) {
    restart = restart === "restarting" ? restart : "required";
  }
  return { ...state, tasks, taskOrder, rates, restart, clearedTasks };
}

function prunePrompts(prompts, order) {
  const finished = order.filter((id) => prompts[id] && prompts[id].status !== "queued" && prompts[id].status !== "running");
  const drop = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED_PROMPTS)));
  if (!drop.size) return { prompts, promptOrder: order };
  const kept = {};
  for (const id of order) if (!drop.has(id)) kept[id] = prompts[id];
  return { prompts: kept, promptOrder: order.filter((id) => !drop.has(id)) };
}

function updatePrompt(state, promptId, change, create = true) {
  if (!promptId) return state;
  const previous = state.prompts[promptId];
  if (!previous && !create) return state;
  const base = previous || { id: promptId, own: false, workflow: null, status: "queued", value: 0, max: 0, node: null, texts: {}, number: null };
  const prompt = { ...base, ...change(base) };
  const prompts = { ...state.prompts, [promptId]: prompt };
  const order = previous ? state.promptOrder : [...state.promptOrder, promptId];
  return { ...state, ...prunePrompts(prompts, order) };
}

export function reduce(state, action) {
  switch (action.type) {
    case "analysis/start": {
      // Another workflow: the last one's report goes at once (a busy server may keep the new one waiting).
      const other = action.workflow && state.workflow && action.workflow.key !== state.workflow.key;
      return { ...state, workflow: action.workflow ?? state.workflow, analyzing: true, error: null, busy: null, analysisError: null,
        ...(other ? { report: null, decisions: {}, pendingDecisions: {}, itemErrors: {}, confirmations: {} } : {}) };
    }
    case "analysis/busy":
      return { ...state, busy: { seconds: action.seconds, attempt: action.attempt, tries: action.tries } };
    case "search/start":
      return { ...state, searching: true };
    case "search/done":
      if (action.reportSeq !== state.reportSeq) return { ...state, searching: false }; // a newer analysis won
      return { ...state, searching: false, searchedSeq: action.reportSeq, report: mergeSearch(state.report, action.report) };
    case "search/item": {
      // Hits of a search for one file: added to that model's candidates (not known to the server's analysis).
      if (!state.report) return state;
      const missing_models = state.report.missing_models.map((m) => {
        if (m.key !== action.key) return m;
        const have = new Set(m.candidates.map(candidateKey));
        const added = (action.candidates || []).filter((c) => !have.has(candidateKey(c))).map((c) => ({ ...c, server_index: null }));
        return { ...m, candidates: [...m.candidates, ...added], searched: true };
      });
      return { ...state, report: { ...state.report, missing_models } };
    }
    case "search/error":
      return { ...state, searching: false, searchedSeq: action.reportSeq ?? state.searchedSeq };
    case "folders/loaded":
      return { ...state, folders: action.folders || [] };
    case "folder/picked":
      return { ...state, folderChoice: { ...state.folderChoice, [action.id]: action.folder } };
    case "option/include_inactive":
      return { ...state, includeInactive: !!action.value };
    case "item/error":
      return { ...state, itemErrors: { ...state.itemErrors, [action.id]: action.error } };
    case "item/looking_up":
      return { ...state, lookingUp: action.on ? { ...state.lookingUp, [action.id]: true } : without(state.lookingUp, action.id) };
    case "item/hint":
      return { ...state, itemHints: action.hint ? { ...state.itemHints, [action.id]: action.hint } : without(state.itemHints, action.id) };
    case "item/unapplied":
      return { ...state, unapplied: { ...state.unapplied, [action.id]: { named: action.named, value: action.value } } };
    case "item/clear_error":
      return { ...state, itemErrors: without(state.itemErrors, action.id) };
    case "confirm/ask": {
      const { question = "pickle", message, params, conflicts = [], items = [], existing = null, fields = null } = action;
      return { ...state, confirmations: { ...state.confirmations,
        [action.id]: { question, message, params, conflicts, items, existing, fields } } };
    }
    case "confirm/clear":
      return { ...state, confirmations: without(state.confirmations, action.id) };
    case "analysis/done": {
      const sameWorkflow = state.workflow && action.workflow && state.workflow.key === action.workflow.key;
      const decisions = sameWorkflow ? { ...state.decisions } : {};
      for (const d of decisionsInReport(action.report)) decisions[itemId(d.kind, d.key)] ??= d;
      // The same workflow analysed again: what the last search found stays until the next one answers.
      const fresh = indexCandidates(action.report);
      const carried = sameWorkflow && state.report?.search !== undefined ? mergeSearch(fresh, state.report) : fresh;
      return {
        ...state,
        workflow: action.workflow ?? state.workflow,
        report: carried,
        reportSeq: state.reportSeq + 1,
        analyzing: false,
        busy: null,
        analysisError: null,
        error: null,
        decisions,
        unapplied: {}, // a new report: applyDecided looks again
      };
    }
    case "analysis/error":
      return { ...state, analyzing: false, busy: null, analysisError: { message: action.error, code: action.code ?? null } };
    case "decisions/loaded": {
      const decisions = {};
      for (const d of action.decisions || []) decisions[itemId(d.kind, d.key)] = d;
      return { ...state, decisions };
    }
    case "decision/made": {
      const id = itemId(action.decision.kind, action.decision.key);
      return {
        ...state,
        decisions: { ...state.decisions, [id]: action.decision },
        pendingDecisions: { ...state.pendingDecisions, [id]: true },
        itemErrors: without(state.itemErrors, id),
        itemHints: without(state.itemHints, id),
        confirmations: without(state.confirmations, id),
      };
    }
    case "decision/saved": {
      const id = itemId(action.decision.kind, action.decision.key);
      const pendingDecisions = { ...state.pendingDecisions };
      delete pendingDecisions[id];
      return { ...state, decisions: { ...state.decisions, [id]: action.decision }, pendingDecisions };
    }
    case "decision/failed": {
      const id = itemId(action.decision.kind, action.decision.key);
      const decisions = { ...state.decisions };
      const pendingDecisions = { ...state.pendingDecisions };
      if (action.previous) decisions[id] = action.previous;
      else delete decisions[id];
      delete pendingDecisions[id];
      const itemErrors = action.error ? { ...state.itemErrors, [id]: action.error } : without(state.itemErrors, id);
      return { ...state, decisions, pendingDecisions, itemErrors };
    }
    case "decision/undone": {
      const id = itemId(action.kind, action.key);
      return { ...state, decisions: without(state.decisions, id), pendingDecisions: without(state.pendingDecisions, id),
        itemErrors: without(state.itemErrors, id), confirmations: without(state.confirmations, id) };
    }
    case "tasks/loaded": {
      let next = { ...state, tasks: {}, taskOrder: [], rates: {} };
      for (const raw of action.tasks || []) next = upsertTask(next, raw, action.now);
      // A snapshot after a reload: finished installs do not ask for a restart again unless the server says so.
      const keep = ["restarting", "refreshing", "reload"].includes(state.restart);
      return { ...next, restart: action.restartRequired ? "required" : keep ? state.restart : "none" };
    }
    case "task/event":
      return upsertTask(state, action.task, action.now);
    case "tasks/clear_finished": {
      // Rows only: the tasks stay known, so their items still say downloaded, installed or cancelled, as
      // the server does after a reload. A failed task keeps its row (and its item its Retry).
      const cleared = { ...state.clearedTasks };
      for (const id of state.taskOrder) if (TIDY_STATES.has(state.tasks[id].state)) cleared[id] = true;
      return { ...state, clearedTasks: cleared };
    }
    case "restart/required":
      return { ...state, restart: "required" };
    case "imports/checked":
      return { ...state, importFailures: (action.checks || []).filter((c) => c.status === "import_failed") };
    case "imports/rolledback":
      return { ...state, importFailures: state.importFailures.filter((c) => c.folder !== action.folder) };
    case "restart/started":
      return { ...state, restart: "restarting" };
    case "restart/refreshing":
      return { ...state, restart: "refreshing" };
    case "restart/reload":
      return { ...state, restart: "reload" };
    case "restart/done":
      return { ...state, restart: "none" };
    case "error":
      return { ...state, error: action.error };
    // ComfyUI sends execution_start to the client that queued the prompt only (and to nobody without one).
    case "prompt/queued":
      return updatePrompt(state, action.prompt_id, () => ({ own: true, workflow: action.workflow ?? null, number: action.number ?? null }));
    case "execution/start":
      return updatePrompt(state, action.prompt_id, () => ({ own: true, status: "running" }));
    case "execution/progress":
      // progress_state of a prompt queued without a client id reaches every tab: not this tab's
      if (!state.prompts[action.prompt_id]?.own && !state.followAll) return state;
      return updatePrompt(state, action.prompt_id, () => ({
        status: "running",
        value: action.value ?? 0,
        max: action.max ?? 0,
        node: action.node ?? null,
      }));
    case "execution/executing":
      return updatePrompt(state, action.prompt_id, (p) => ({
        status: action.node === null ? p.status : "running",
        node: action.node ?? p.node,
        // A new node starts: its step counter starts over.
        ...(action.node !== p.node ? { value: 0, max: 0 } : {}),
      }), false);
    case "execution/end":
      return updatePrompt(state, action.prompt_id, () => ({ status: action.status || "success", node: null }), false);
    case "progress_text": {
      // A tab keeps only its own prompts' texts; with "all clients" on, the others' as read-only rows.
      const own = action.scope === "client" || !!state.prompts[action.prompt_id]?.own;
      if (!own && !state.followAll) return state;
      return updatePrompt(state, action.prompt_id, (p) => ({
        own: p.own || own,
        texts: { ...p.texts, [action.display_node_id ?? action.node_id]: action.text },
      }));
    }
    case "jobs/follow_all": {
      if (action.on) return { ...state, followAll: true };
      const prompts = {};
      for (const id of state.promptOrder) if (state.prompts[id].own) prompts[id] = state.prompts[id];
      return { ...state, followAll: false, prompts, promptOrder: state.promptOrder.filter((id) => prompts[id]) };
    }
    case "queue/snapshot": {
      // GET /queue: `mine` are the entries queued with this tab's client id; the others are kept
      // (unlabelled, read-only) only while the "all clients" switch is on.
      let next = state;
      const mine = new Set(action.mine || []);
      const keep = (id) => mine.has(id) || next.prompts[id]?.own || state.followAll;
      const own = (id, p) => (mine.has(id) ? { own: true } : { own: p.own });
      for (const id of action.running || []) {
        if (keep(id)) next = updatePrompt(next, id, (p) => ({ ...own(id, p), status: p.status === "queued" ? "running" : p.status }));
      }
      for (const id of action.pending || []) if (keep(id)) next = updatePrompt(next, id, (p) => own(id, p));
      const live = new Set([...(action.running || []), ...(action.pending || [])]);
      for (const id of next.promptOrder) {
        const p = next.prompts[id];
        if ((p.status === "queued" || p.status === "running") && !live.has(id)) {
          next = updatePrompt(next, id, () => ({ status: "done", node: null }), false);
        }
      }
      return next;
    }
    default:
      return state;
  }
}
