/**
 * Mend's editor extension: the entry module ComfyUI loads. It is the only module that imports
 * ComfyUI's `app` and `api`; everything it wires lives in ./mend/ as side-effect-free modules.
 *
 * - Entry points: the "Mend.OpenPanel" command (Alt+Shift+M), a menu entry under Extensions,
 *   an action-bar button, and a sidebar tab that holds the panel (a floating dialog where the
 *   frontend has no sidebar API).
 * - On workflow load (setting "Mend.AnalyzeOnLoad", on by default): the open graph is analysed
 *   and, if something is missing, a toast "N missing — Resolve" opens the panel.
 * - Websocket: `mend.task` events drive the progress rows; `mend.progress_text` and ComfyUI's
 *   execution events drive the jobs view, which keeps this tab's prompts (labelled with their
 *   workflow) unless its "all clients" switch asks the server for the others' texts too.
 */

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { createClient } from "./mend/client.js";
import { createController } from "./mend/controller.js";
import { applyModelValue } from "./mend/graph.js";
import { createPanel } from "./mend/panel.js";
import { initialState, reduce } from "./mend/state.js";
import { installStyles } from "./mend/styles.js";
import { createScheduler } from "./mend/throttle.js";
import { viewModel } from "./mend/view.js";
import { missingSummary } from "./mend/format.js";
import { followAllPrompts } from "./mend/progress.js";

const TAB_ID = "mend";
const COMMAND_ID = "Mend.OpenPanel";
const SETTING_ANALYZE = "Mend.AnalyzeOnLoad";

let state = initialState();
const listeners = [];
const scheduler = createScheduler(() => listeners.forEach((fn) => fn()), { interval: 150 });

function dispatch(action) {
  const next = reduce(state, action);
  if (next !== state) {
    state = next;
    scheduler.request();
  }
}

const client = createClient((path, init) => api.fetchApi(path, init));
const controller = createController({
  client,
  getState: () => state,
  dispatch,
  applyModel: async (item, value) => {
    // The server lists the new file now: refresh every combo first, so the value is a valid choice.
    await Promise.resolve(app.refreshComboInNodes?.()).catch(() => null);
    const graph = app.rootGraph ?? app.graph;
    const changed = applyModelValue(graph, item, value);
    if (changed) app.canvas?.setDirty?.(true, true);
    return changed;
  },
  confirm: (message) => window.confirm(`${message}\n\nContinue?`),
  workflowRef: () => workflowRef(),
  clientId: () => api.clientId ?? api.initialClientId ?? null,
});

// ---- the panel, in the sidebar or a floating dialog -------------------------------------------

let panel = null;
let dialog = null;

function mountPanel(el) {
  installStyles(document);
  panel ??= createPanel(document, { ...controller, followAll });
  el.replaceChildren(panel.root);
  panel.render(viewModel(state));
}
listeners.push(() => panel?.root.isConnected && panel.render(viewModel(state)));

function sidebar() {
  return app.extensionManager?.sidebarTab;
}

function openPanel() {
  const tabs = sidebar();
  if (tabs?.toggleSidebarTab && typeof app.extensionManager.registerSidebarTab === "function") {
    if (tabs.activeSidebarTabId !== TAB_ID) tabs.toggleSidebarTab(TAB_ID);
  } else {
    openDialog();
  }
  if (!state.report && !state.analyzing) analyzeOpenGraph();
}

function openDialog() {
  if (!dialog) {
    dialog = document.createElement("div");
    dialog.className = "mend-dialog";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-label", "Mend");
    const close = document.createElement("button");
    close.className = "mend-btn mend-btn-text mend-dialog-close";
    close.textContent = "✕";
    close.setAttribute("aria-label", "Close Mend");
    close.onclick = () => (dialog.hidden = true);
    dialog.addEventListener("keydown", (e) => e.key === "Escape" && (dialog.hidden = true));
    const body = document.createElement("div");
    body.style.height = "100%";
    dialog.append(close, body);
    document.body.append(dialog);
    mountPanel(body);
  }
  dialog.hidden = false;
  dialog.querySelector("button, input")?.focus();
}

// ---- analysis on load, and the toast ------------------------------------------------------------

/**
 * How Mend names the open workflow: a saved, unmodified workflow by its path in the workflows folder
 * (decisions then also rewrite that file), anything else by its graph's uuid, with the graph sent along.
 */
function workflowInfo() {
  const wf = app.extensionManager?.workflow?.activeWorkflow;
  const graph = app.rootGraph ?? app.graph;
  const name = wf?.filename || "Unsaved workflow";
  const path = wf?.path || "";
  if (wf?.isPersisted && !wf.isModified && !wf.isTemporary && path.startsWith("workflows/")) {
    return { key: path.slice("workflows/".length), name, mode: "file" };
  }
  return { key: graph?.serialize?.().id ?? graph?.id ?? name, name, mode: "graph" };
}

/** The workflow as `POST /mend/decisions` names it now: the analysed key, the current graph if unsaved. */
function workflowRef() {
  const wf = state.workflow;
  if (!wf) return null;
  if (wf.mode !== "graph") return { key: wf.key };
  const graph = (app.rootGraph ?? app.graph).serialize();
  return { key: graph.id ?? wf.key, graph };
}

async function analyzeOpenGraph() {
  const graph = app.rootGraph ?? app.graph;
  if (!graph) return null;
  const info = workflowInfo();
  const report = await controller.analyze(graph.serialize(), info);
  if (report) await controller.loadDecisions();
  return report;
}

function settingOn(id) {
  const value = app.extensionManager?.setting?.get?.(id) ?? app.ui?.settings?.getSettingValue?.(id);
  return value !== false;
}

let loadTimer = null;
function onGraphLoaded() {
  if (!settingOn(SETTING_ANALYZE)) return;
  // A load fires several configure calls (subgraphs, tabs): analyse once, when it settles.
  clearTimeout(loadTimer);
  loadTimer = setTimeout(async () => {
    const report = await analyzeOpenGraph();
    const missing = (report?.missing_nodes?.length || 0) + (report?.missing_models?.length || 0);
    if (missing) showMissingToast(missing, missingSummary(report));
  }, 250);
}

let lastToast = null;

function showMissingToast(count, detail) {
  const toast = app.extensionManager?.toast;
  const text = `${count} missing — Resolve`;
  if (toast?.add) {
    // One toast at a time: a newly loaded workflow replaces the previous one's.
    if (lastToast) toast.remove?.(lastToast);
    const mark = `mend-toast-${Date.now()}`;
    const message = { severity: "warn", summary: text, detail, life: 20000, styleClass: `mend-toast ${mark}` };
    lastToast = message;
    toast.add(message);
    wireToast(mark, message, 40);
    return;
  }
  const own = document.createElement("div");
  own.className = "mend-own-toast mend-toast";
  own.setAttribute("role", "status");
  const button = document.createElement("button");
  button.className = "mend-btn mend-btn-primary";
  button.textContent = "Resolve";
  button.onclick = () => (own.remove(), openPanel());
  own.append(`${count} missing (${detail})`, button);
  document.body.append(own);
  setTimeout(() => own.remove(), 20000);
}

/** PrimeVue toasts take no buttons: find ours once rendered and make it open the panel. */
function wireToast(mark, message, triesLeft) {
  const el = document.querySelector(`.${mark}`);
  if (!el) {
    if (triesLeft > 0) setTimeout(() => wireToast(mark, message, triesLeft - 1), 50);
    return;
  }
  const resolve = () => {
    app.extensionManager.toast.remove?.(message);
    if (lastToast === message) lastToast = null;
    openPanel();
  };
  const button = document.createElement("button");
  button.className = "p-button p-component p-button-sm mend-toast-resolve";
  button.textContent = "Resolve";
  button.setAttribute("aria-label", "Resolve missing nodes and models in Mend");
  button.addEventListener("click", (e) => {
    e.stopPropagation();
    resolve();
  });
  (el.querySelector(".p-toast-message-text") || el).append(button);
}

// ---- websocket events ---------------------------------------------------------------------------

function listen() {
  api.addEventListener("mend.task", (e) => controller.taskEvent(e.detail));
  api.addEventListener("mend.progress_text", (e) => dispatch({ type: "progress_text", ...e.detail }));
  api.addEventListener("execution_start", (e) => dispatch({ type: "execution/start", prompt_id: e.detail?.prompt_id }));
  api.addEventListener("progress_state", (e) => {
    const nodes = Object.values(e.detail?.nodes || {});
    const running = nodes.find((n) => n.state === "running");
    if (running) {
      dispatch({ type: "execution/progress", prompt_id: e.detail.prompt_id, value: running.value, max: running.max,
        node: running.display_node_id ?? running.node_id });
    }
  });
  for (const [event, status] of [["execution_success", "success"], ["execution_error", "error"],
    ["execution_interrupted", "interrupted"]]) {
    api.addEventListener(event, (e) => dispatch({ type: "execution/end", prompt_id: e.detail?.prompt_id, status }));
  }
  let queueTimer = null;
  api.addEventListener("status", () => {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(refreshQueue, 300);
  });
  // After a reconnect (server restart, network), the server's tasks are the truth again.
  api.addEventListener("reconnected", () => {
    if (state.restart === "restarting") dispatch({ type: "restart/done" });
    if (state.followAll) followAllPrompts(api, true).catch(() => dispatch({ type: "jobs/follow_all", on: false }));
    controller.loadTasks();
    if (state.report) analyzeOpenGraph();
  });
}

/** The jobs view's "all clients" switch: the server sends this tab copies of other prompts' texts. */
async function followAll(on) {
  dispatch({ type: "jobs/follow_all", on });
  try {
    await followAllPrompts(api, on);
    if (on) refreshQueue();
  } catch (error) {
    dispatch({ type: "jobs/follow_all", on: !on });
    dispatch({ type: "error", error: error.message });
  }
}

async function refreshQueue() {
  try {
    const q = await client.queue();
    const all = [...(q.queue_running || []), ...(q.queue_pending || [])];
    const ids = (list) => (list || []).map((entry) => entry[1]).filter(Boolean);
    const me = api.clientId ?? api.initialClientId;
    // entry = [number, prompt_id, prompt, extra_data, outputs]; extra_data.client_id is who queued it
    const mine = all.filter((entry) => me && entry[3]?.client_id === me).map((entry) => entry[1]);
    dispatch({ type: "queue/snapshot", running: ids(q.queue_running), pending: ids(q.queue_pending), mine });
  } catch {
    // The jobs view is a convenience: a failed poll waits for the next status event.
  }
}

/** Remember which workflow each prompt this tab queues came from, so jobs are labelled. */
function hookQueuePrompt() {
  const original = api.queuePrompt;
  if (typeof original !== "function" || original.__mend) return;
  const wrapped = async function (...args) {
    const name = workflowInfo().name;
    const result = await original.apply(this, args);
    if (result?.prompt_id) dispatch({ type: "prompt/queued", prompt_id: result.prompt_id, workflow: name, number: result.number });
    return result;
  };
  wrapped.__mend = true;
  api.queuePrompt = wrapped;
}

// ---- registration --------------------------------------------------------------------------------

app.registerExtension({
  name: "Mend.Panel",
  settings: [
    {
      id: SETTING_ANALYZE,
      category: ["Mend", "Editor panel", "Analyse on load"],
      name: "Analyse each workflow when it loads and offer to resolve what is missing",
      type: "boolean",
      defaultValue: true,
    },
  ],
  commands: [
    { id: COMMAND_ID, label: "Mend: resolve missing nodes and models", icon: "pi pi-wrench", function: openPanel },
    { id: "Mend.Analyze", label: "Mend: analyse the open workflow", icon: "pi pi-search", function: () => (openPanel(), analyzeOpenGraph()) },
  ],
  keybindings: [{ combo: { key: "M", alt: true, shift: true }, commandId: COMMAND_ID }],
  menuCommands: [{ path: ["Extensions", "Mend"], commands: [COMMAND_ID, "Mend.Analyze"] }],
  actionBarButtons: [
    { icon: "pi pi-wrench", label: "Mend", tooltip: "Resolve missing nodes and models (Alt+Shift+M)", onClick: openPanel },
  ],
  async setup() {
    installStyles(document);
    if (typeof app.extensionManager?.registerSidebarTab === "function") {
      app.extensionManager.registerSidebarTab({
        id: TAB_ID,
        icon: "pi pi-wrench",
        title: "Mend",
        tooltip: "Mend: missing nodes and models",
        type: "custom",
        render: (el) => mountPanel(el),
      });
    }
    listen();
    hookQueuePrompt();
    await controller.loadTasks();
    controller.loadRestartStatus();
    refreshQueue();
  },
  afterConfigureGraph() {
    onGraphLoaded();
  },
});

// For the browser test and for people debugging in the console.
window.__mend = { getState: () => state, openPanel, analyze: analyzeOpenGraph, flush: () => scheduler.flush() };
