/**
 * Mend's editor extension: the entry module ComfyUI loads. It is the only module that imports
 * ComfyUI's `app` and `api`; everything it wires lives in ./mend/ as side-effect-free modules.
 *
 * - Entry points: the "Mend.OpenPanel" command (Alt+Shift+M toggles the panel and moves focus into
 *   it), a menu entry under Extensions, an action-bar button, and a sidebar tab that holds the panel
 *   (a floating dialog where the frontend has no sidebar API).
 * - On workflow load (setting "Mend.AnalyzeOnLoad", on by default): the open graph is analysed
 *   and, if something blocks a run and is not decided, a toast "N missing — Resolve" opens the
 *   panel: once per workflow, placed clear of other dialogs' controls. Models without a certain
 *   source are then looked up in the background (sizes, hashes, gated or gone links).
 * - Setting "Mend.OnePlace" (on by default) turns off the frontend's own missing-models dialog, so
 *   Mend's panel is the one place to resolve them.
 * - After a restart Mend started, node definitions are refreshed and the open workflow is re-created,
 *   so new nodes replace their placeholders; where that fails the banner offers "Reload the page".
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
const SETTING_ONE_PLACE = "Mend.OnePlace";
const STOCK_MODELS_DIALOG = "Comfy.Workflow.ShowMissingModelsWarning";

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
    let changed = null;
    for (const ref of item.refs?.length ? item.refs : [item]) changed = applyModelValue(graph, ref, value) || changed;
    if (changed) app.canvas?.setDirty?.(true, true);
    return changed;
  },
  markModified: () => {
    // The file on disk got Mend's change: the tab shows it modified, so Ctrl+S keeps both.
    const tracker = app.extensionManager?.workflow?.activeWorkflow?.changeTracker;
    tracker?.checkState?.();
  },
  workflowRef: () => workflowRef(),
  clientId: () => api.clientId ?? api.initialClientId ?? null,
});

/** What the panel's buttons call: the controller, plus what needs the page itself. */
const actions = {
  ...controller,
  choose: controller.choose,
  reanalyze: () => analyzeOpenGraph(),
  reloadPage: () => window.location.reload(),
  undo: controller.undo,
  retryItem: controller.retryItem,
  searchItem: controller.searchItem,
  installPackFirst: controller.installPackFirst,
  confirmDownload: controller.confirmDownload,
  declineDownload: controller.declineDownload,
  confirmInstall: controller.confirmInstall,
  declineInstall: controller.declineInstall,
  stopRetrying: controller.stopRetrying,
  pickFolder: controller.pickFolder,
  setIncludeInactive: controller.setIncludeInactive,
  clearFinished: controller.clearFinished,
  followAll,
};

// ---- the panel, in the sidebar or a floating dialog -------------------------------------------

let panel = null;
let dialog = null;

function mountPanel(el) {
  installStyles(document);
  panel ??= createPanel(document, actions);
  el.replaceChildren(panel.root);
  panel.render(viewModel(state));
}
listeners.push(() => panel?.root.isConnected && panel.render(viewModel(state)));

function sidebar() {
  return app.extensionManager?.sidebarTab;
}

function panelShown() {
  return !!panel?.root.isConnected && panel.root.offsetParent !== null;
}

/** Open the panel (sidebar tab or dialog), analyse if nothing was, and move the focus into it. */
function openPanel() {
  const tabs = sidebar();
  if (tabs?.toggleSidebarTab && typeof app.extensionManager.registerSidebarTab === "function") {
    if (tabs.activeSidebarTabId !== TAB_ID) tabs.toggleSidebarTab(TAB_ID);
  } else {
    openDialog();
  }
  if (!state.report && !state.analyzing) analyzeOpenGraph();
  focusPanel(20);
}

function focusPanel(triesLeft) {
  const target = panel?.root.querySelector("button:not([disabled]), input, select");
  if (target && panelShown()) {
    target.focus();
    return;
  }
  if (triesLeft > 0) setTimeout(() => focusPanel(triesLeft - 1), 50);
}

/** Alt+Shift+M: open and focus the panel, or close it when it is open. */
function togglePanel() {
  if (!panelShown()) {
    openPanel();
    return;
  }
  const tabs = sidebar();
  if (dialog && !dialog.hidden) dialog.hidden = true;
  else if (tabs?.activeSidebarTabId === TAB_ID) tabs.toggleSidebarTab(TAB_ID);
  app.canvas?.canvas?.focus?.();
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
 * How Mend names the open workflow: a saved workflow by its path in the workflows folder (decisions
 * then also rewrite that file, and the same change is made in the open graph, marked modified, so
 * the tab and the file agree and Ctrl+S keeps it), anything else by its graph's uuid, with the graph
 * sent along.
 */
function workflowInfo() {
  const wf = app.extensionManager?.workflow?.activeWorkflow;
  const graph = app.rootGraph ?? app.graph;
  const name = wf?.filename || "Unsaved workflow";
  const path = wf?.path || "";
  if (wf?.isPersisted && !wf.isTemporary && path.startsWith("workflows/")) {
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
  const serialized = graph.serialize();
  const report = await controller.analyze(serialized, info);
  if (report) {
    await controller.loadDecisions();
    // A second copy of a resolved workflow (same graph id): its widgets get the decided files too.
    await controller.applyDecided();
    controller.searchInBackground(serialized);
  }
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
    if (!report) return;
    const vm = viewModel(state);
    // Only what blocks a run and waits for a decision; once per workflow (a tab switch is no new load).
    const waiting = [...vm.nodeGroups.flatMap((g) => g.items), ...vm.models].filter((i) => !i.decision && !i.task);
    const key = state.workflow?.key;
    if (waiting.length && key && !toasted.has(key)) {
      toasted.add(key);
      showMissingToast(waiting.length, missingSummary({ missing_nodes: waiting.filter((i) => i.kind === "node"),
        missing_models: waiting.filter((i) => i.kind === "model") }));
    }
  }, 250);
}

// ---- the toast: Mend's own, placed where it covers no other dialog's controls ------------------

const toasted = new Set(); // workflow keys already announced in this page
const TOAST_LIFE_MS = 12000; // of time actually shown: hidden under a modal dialog it waits
const TOAST_TICK_MS = 300;
let toastEl = null;
let toastShownMs = 0;
let toastWatch = null;

function closeToast() {
  clearInterval(toastWatch);
  toastEl?.remove();
  toastEl = null;
}

function showMissingToast(count, detail) {
  closeToast();
  const own = document.createElement("div");
  own.className = "mend-own-toast mend-toast";
  own.setAttribute("role", "status");
  const text = document.createElement("span");
  text.className = "mend-toast-text";
  text.textContent = `${count} missing — Resolve (${detail})`;
  const resolve = document.createElement("button");
  resolve.className = "mend-btn mend-btn-primary mend-toast-resolve";
  resolve.dataset.control = "toast-resolve";
  resolve.textContent = "Resolve";
  resolve.setAttribute("aria-label", "Resolve missing nodes and models in Mend");
  resolve.onclick = () => (closeToast(), openPanel());
  const close = document.createElement("button");
  close.className = "mend-btn mend-btn-text mend-toast-close";
  close.dataset.control = "toast-close";
  close.textContent = "✕";
  close.setAttribute("aria-label", "Dismiss");
  close.onclick = closeToast;
  own.append(text, resolve, close);
  installStyles(document);
  document.body.append(own);
  toastEl = own;
  placeToast();
  toastShownMs = 0;
  // Dialogs open and close while the toast is up; it expires after TOAST_LIFE_MS of being seen.
  toastWatch = setInterval(() => {
    placeToast();
    if (toastEl && !toastEl.hidden && (toastShownMs += TOAST_TICK_MS) >= TOAST_LIFE_MS) closeToast();
  }, TOAST_TICK_MS);
}

/** A modal dialog's mask (ComfyUI's missing-nodes dialog, the Templates browser) covers the whole page. */
function modalOpen() {
  const masks = document.querySelectorAll(".p-dialog-mask, .p-overlay-mask, dialog[open]");
  // (a mask is position: fixed, so it has no offsetParent: its box and visibility say whether it is up)
  return [...masks].some((m) => !m.closest(".mend-dialog, .mend-own-toast") && m.getBoundingClientRect().width > 0
    && getComputedStyle(m).visibility !== "hidden");
}

/** Other dialogs' boxes (ComfyUI's, ComfyUI-Manager's): the toast must not sit on their controls. */
function otherDialogRects() {
  const found = document.querySelectorAll(".p-dialog, [role='dialog'], .comfy-modal, dialog[open]");
  return [...found].filter((d) => !d.closest(".mend-dialog, .mend-own-toast") && d.offsetParent !== null)
    .map((d) => d.getBoundingClientRect()).filter((r) => r.width > 0 && r.height > 0);
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/** Bottom right, else bottom left, else top left; hidden while every place covers a dialog. */
function placeToast() {
  if (!toastEl) return;
  if (modalOpen()) {
    toastEl.hidden = true; // under a modal it could be neither seen nor clicked: shown once it closes
    return;
  }
  const dialogs = otherDialogRects();
  const spots = [{ right: "16px", bottom: "56px", left: "", top: "" }, { left: "16px", bottom: "56px", right: "", top: "" },
    { left: "16px", top: "56px", right: "", bottom: "" }];
  toastEl.hidden = false;
  for (const spot of spots) {
    Object.assign(toastEl.style, spot);
    const rect = toastEl.getBoundingClientRect();
    if (!dialogs.some((d) => overlaps(rect, d))) return;
  }
  toastEl.hidden = true; // shown again when the dialog closes
}

// ---- restart: new nodes into the open editor -----------------------------------------------------

/**
 * Missing node types of the report whose nodes in the open graph are still placeholders: either the
 * editor has no definition for them, or it has one now but the node was built before it existed.
 */
function placeholderTypes() {
  const registered = globalThis.LiteGraph?.registered_node_types || {};
  const wanted = new Set((state.report?.missing_nodes || []).map((n) => n.type));
  const found = new Set();
  const walk = (graph) => {
    for (const node of graph?._nodes || graph?.nodes || []) {
      const cls = registered[node.type];
      if (wanted.has(node.type) && (!cls || !(node instanceof cls))) found.add(node.type);
      if (node.subgraph) walk(node.subgraph);
    }
  };
  walk(app.rootGraph ?? app.graph);
  return found;
}

/** Types with a definition in the editor now. */
function definedTypes(types) {
  const registered = globalThis.LiteGraph?.registered_node_types || {};
  return [...types].filter((t) => t in registered);
}

/** After the restart: refresh node definitions, re-create the workflow's nodes, else ask for a reload. */
async function afterRestart() {
  dispatch({ type: "restart/refreshing" });
  try {
    await app.refreshComboInNodes?.(); // registers every node definition the server now has
    if (definedTypes(placeholderTypes()).length) {
      // New definitions for nodes built as placeholders: build the open workflow again (as the editor
      // itself does after a language change), so they become real nodes with their widgets.
      const wf = app.extensionManager?.workflow?.activeWorkflow ?? null;
      const graph = (app.rootGraph ?? app.graph).serialize();
      await app.loadGraphData(graph, true, true, wf, { showMissingNodesDialog: false, showMissingModelsDialog: false });
    }
    dispatch({ type: definedTypes(placeholderTypes()).length ? "restart/reload" : "restart/done" });
  } catch {
    dispatch({ type: "restart/reload" });
  }
  await controller.loadTasks();
  if (state.restart !== "reload") await analyzeOpenGraph();
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
    if (state.followAll) followAllPrompts(api, true).catch(() => dispatch({ type: "jobs/follow_all", on: false }));
    if (state.restart === "restarting") {
      afterRestart();
      return;
    }
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

/**
 * "One place": while on, the frontend's missing-models dialog stays shut (Mend's toast and panel
 * cover it); turning it off gives the dialog back as it was before.
 */
function applyOnePlace(on) {
  const settings = app.extensionManager?.setting;
  if (!settings?.get || !settings?.set) return;
  const saved = "mend.stockModelsDialogBefore";
  if (on && settings.get(STOCK_MODELS_DIALOG) !== false) {
    localStorage.setItem(saved, "on");
    Promise.resolve(settings.set(STOCK_MODELS_DIALOG, false)).catch(() => null);
  } else if (!on && localStorage.getItem(saved) === "on") {
    localStorage.removeItem(saved);
    Promise.resolve(settings.set(STOCK_MODELS_DIALOG, true)).catch(() => null);
  }
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
    {
      id: SETTING_ONE_PLACE,
      category: ["Mend", "Editor panel", "One place"],
      name: "Resolve missing models in Mend only (turns off the editor's own missing-models dialog)",
      type: "boolean",
      defaultValue: true,
      onChange: (value) => applyOnePlace(value),
    },
  ],
  commands: [
    { id: COMMAND_ID, label: "Mend: resolve missing nodes and models", icon: "pi pi-wrench", function: togglePanel },
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
    applyOnePlace(settingOn(SETTING_ONE_PLACE));
    controller.loadFolders();
    await controller.loadTasks();
    controller.loadRestartStatus();
    refreshQueue();
  },
  afterConfigureGraph() {
    onGraphLoaded();
  },
});

// For the browser test and for people debugging in the console.
window.__mend = {
  getState: () => state, openPanel, togglePanel, analyze: analyzeOpenGraph, flush: () => scheduler.flush(),
  searched: () => controller.searchPromise,
  dispatch, // the browser test forces the rare "reload the page" banner with it
};
