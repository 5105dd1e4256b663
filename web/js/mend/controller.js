/**
 * What the panel's buttons do: turn a user's choice into a decision (posted at once, so a reload
 * shows it again), then into work (a download or an install task), and apply finished work to the
 * open graph (a model widget pointed at the downloaded file).
 *
 * Everything outside is injected (`client` from client.js, `dispatch`/`getState` of the store,
 * `applyModel(item, value)` that edits the graph, `markModified()`), so these flows are tested
 * under `node --test` with a fake client and no browser. Errors land on the item they belong to
 * (`itemErrors`), never only in a line at the top of the panel.
 */

import { createAnalyses, pause, unlessBusy } from "./busy.js";
import { itemId } from "./state.js";
import { chosenCandidate, groupNodes, viewModel } from "./view.js";
import { decisionBody, decisionsFromServer } from "./wire.js";

/** Folders ComfyUI lists beside the model folders (GET /models) that hold no models: never offered for a download. */
export const NOT_MODEL_FOLDERS = new Set(["custom_nodes", "configs"]);

/** The file name a pasted URL downloads to: its last path segment, decoded, without a query. */
export function fileNameFromUrl(url) {
  try {
    const u = new URL(url);
    const last = u.pathname.split("/").filter(Boolean).pop() || "";
    return decodeURIComponent(last);
  } catch {
    return "";
  }
}

export function createController({
  client, getState, dispatch, applyModel = () => null, now = () => Date.now(),
  sleep = pause, // waits between asks of a busy server (tests pass one that returns at once)
  workflowRef = () => getState().workflow, // {key, graph?}: how POST /mend/decisions names the workflow
  clientId = () => null, // ComfyUI's websocket client id: tasks remember who started them
  markModified = () => null, // the open workflow now differs from its last save (a rewritten file too)
}) {
  const applied = new Set(); // "<item id>@<task id>": widgets already pointed at a finished download
  const appliedDecided = new Set(); // "<report seq>|<item id>": decided files already applied to that report's graph
  let searchPromise = null;
  const analyses = createAnalyses({ client, dispatch, getState, sleep });

  // Each decision's and each search's analysis takes one of the server's analysis places too, so
  // "Install (12)" can outnumber them: a 429 is asked again (the item shows "saving…" meanwhile).
  const postDecision = (body) => unlessBusy(() => client.decide(body), sleep);

  function workflowKey() {
    return getState().workflow?.key ?? "";
  }

  function fail(error) {
    dispatch({ type: "error", error: error?.message || String(error) });
  }

  function failItem(item, error) {
    dispatch({ type: "item/error", id: item.id, error: error?.message || String(error) });
  }

  /**
   * Keys to post a decision for: the item's own; an older server without "one file, one answer"
   * (no `model_files` in its report) gets one post per reference of the file.
   */
  function refKeys(item) {
    const grouped = !!getState().report?.model_files;
    return item.kind === "model" && item.refs?.length && !grouped ? item.refs.map((r) => r.key) : [item.key];
  }

  /**
   * Post a decision for every reference of the item; the open graph follows the file: when the server
   * rewrote the saved workflow, the same value is set in the graph and the workflow is marked modified.
   */
  async function decide(item, fields) {
    const decision = { workflow: workflowKey(), kind: item.kind, key: item.key, ...fields };
    const previous = getState().decisions[itemId(item.kind, item.key)] || null;
    dispatch({ type: "decision/made", decision });
    try {
      const ref = workflowRef() || { key: workflowKey() };
      let fileChanged = null;
      let probe = null; // what a link's server said it would send (not for Hugging Face or local files)
      for (const key of refKeys(item)) {
        const answer = await postDecision(decisionBody({ ...decision, key }, ref));
        if (answer?.workflow_file_changed && answer.stored?.path) fileChanged = answer.stored.path;
        probe = answer?.probe || probe;
      }
      dispatch({ type: "decision/saved", decision: probe ? { ...decision, probe } : decision });
      if (fileChanged !== null && item.kind === "model") {
        await applyModel(item, fileChanged);
        markModified();
      }
      return true;
    } catch (error) {
      if (error.code === "file_exists" && item.kind === "model") {
        // another file holds the name: nothing was stored; the user answers at the item
        dispatch({ type: "decision/failed", decision, previous, error: null });
        dispatch({ type: "confirm/ask", id: item.id, question: "existing", message: error.message,
          existing: error.body?.error?.existing || null, fields });
        return false;
      }
      // a link that cannot work is named by its server's answer, with what to do: said as it is
      const said = String(error?.code || "").startsWith("link_") ? error.message : `could not save the decision: ${error.message}`;
      dispatch({ type: "decision/failed", decision, previous, error: said });
      return false;
    }
  }

  /** Forget the item's decision (Optional, Skip, a choice): it is open again. */
  async function undo(item) {
    try {
      const ref = workflowRef() || { key: workflowKey() };
      for (const key of refKeys(item)) {
        await postDecision(decisionBody({ kind: item.kind, key, action: "undo" }, ref));
      }
      dispatch({ type: "decision/undone", kind: item.kind, key: item.key });
    } catch (error) {
      failItem(item, `could not undo: ${error.message}`);
    }
  }

  /**
   * Start an item's task; errors stay at the item. What the server wants confirmed first is asked at the
   * item, in the panel: a pickle download, a pack that does not fit this machine (`items`: the node
   * types decided for that install, which Cancel makes open again).
   */
  async function startTask(item, start, params, items = [item]) {
    try {
      const task = await start(params);
      if (task) dispatch({ type: "task/event", task: task.task || task, now: now() });
      return task;
    } catch (error) {
      if (error.code === "confirmation_required" && !params.confirm_pickle) {
        dispatch({ type: "confirm/ask", id: item.id, question: "pickle", message: error.message, params });
        return null;
      }
      if (error.code === "incompatible" && !params.confirm_incompatible) {
        dispatch({ type: "confirm/ask", id: item.id, question: "incompatible", message: error.message, params,
          conflicts: error.body?.error?.conflicts || [], items: items.map((i) => ({ id: i.id, kind: i.kind, key: i.key })) });
        return null;
      }
      if (error.code === "file_exists") {
        dispatch({ type: "confirm/ask", id: item.id, question: "existing", message: error.message,
          existing: error.body?.error?.existing || null, params });
        return null;
      }
      if (error.code === "conflict") return null; // the same file or pack is already being worked on
      failItem(item, error);
      return null;
    }
  }

  function folderFor(item, candidate) {
    return getState().folderChoice[item.id] || candidate.folder || item.folder;
  }

  async function download(item, candidate, onExisting = undefined) {
    // POST /mend/models/download: {url, folder, filename|relpath, sha256?, confirm_pickle?, on_existing?, client_id?}
    return startTask(item, client.downloadModel, {
      url: candidate.url,
      folder: folderFor(item, candidate),
      relpath: candidate.relpath,
      sha256: candidate.sha256 || undefined,
      on_existing: onExisting,
      client_id: clientId() || undefined,
    });
  }

  /**
   * The answer to "another file is already under this name": keep it (the user says it is the same
   * file), save the new one under the suggested name (the widget follows), or replace it once the new
   * one is verified. The decision is posted again with the answer, then the download starts.
   */
  async function answerExisting(item, choice) {
    const pending = getState().confirmations[item.id];
    dispatch({ type: "confirm/clear", id: item.id });
    if (!pending) return;
    if (!pending.fields) {
      await startTask(item, client.downloadModel, { ...pending.params, on_existing: choice });
      return;
    }
    const renamed = choice === "rename" && pending.existing?.suggested;
    const fields = { ...pending.fields, onExisting: choice };
    if (!(await decide(item, fields))) return;
    const candidate = fields.choice || {};
    await download(item, renamed ? { ...candidate, relpath: renamed } : candidate, renamed ? undefined : choice);
  }

  async function install(items, pack, plan) {
    // POST /mend/nodes/install: the server's plan body ({id?, repository?, version?, commit?}: registry
    // when it has the pack, git otherwise); a pack Manager disabled is enabled instead of copied again.
    if (plan?.source === "enable") {
      try {
        return await client.enablePack({ folder: plan.folder });
      } catch (error) {
        failItem(items[0], error);
        return null;
      }
    }
    const repository = /^https?:\/\//.test(pack.repository || "") ? pack.repository : undefined;
    const body = plan?.body || { id: (pack.cnr_id ?? pack.id) || undefined, repository };
    return startTask(items[0], client.installPack, { ...body, client_id: clientId() || undefined }, items);
  }

  async function choose(item, index) {
    const candidate = item.candidates[index];
    if (!candidate) return;
    const picked = getState().folderChoice[item.id];
    // A candidate the server's analysis does not know (a search hit), or one going to a folder the
    // user picked, is decided as its URL; the rest by the server's index.
    const asUrl = item.kind === "model" && candidate.kind === "download"
      && (!Number.isInteger(candidate.server_index) || (picked && picked !== candidate.folder));
    const fields = asUrl
      ? { action: "url", url: candidate.url, choice: { ...candidate, folder: folderFor(item, candidate) }, viaCandidate: index }
      : { action: "choose", candidate: index, serverCandidate: candidate.server_index ?? index, choice: candidate };
    if (!(await decide(item, fields))) return;
    if (item.kind === "node") {
      if (!candidate.installed || candidate.install?.source === "enable") {
        await install([item], candidate.pack, candidate.install);
      }
      return;
    }
    if (candidate.kind === "local") applyModel(item, candidate.relpath);
    else await download(item, candidate);
  }

  async function pasteUrl(item, url) {
    if (!url) {
      hint(item, "Paste the file's download link into the box first (https://…), then Use URL.");
      return;
    }
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      failItem(item, `not a URL: ${url}`);
      return;
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      failItem(item, "only https:// URLs can be downloaded");
      return;
    }
    const name = fileNameFromUrl(url);
    const dir = String(item.value || "").includes("/") ? item.value.slice(0, item.value.lastIndexOf("/") + 1) : "";
    const folder = getState().folderChoice[item.id] || item.folder;
    const candidate = { kind: "download", reason: "url", url, folder, relpath: dir + (name || item.value), source: "url" };
    if (!(await decide(item, { action: "url", url, choice: candidate }))) return;
    await download(item, candidate);
  }

  async function fixAllCertain() {
    const vm = viewModel(getState());
    // Node types of one pack are installed once, together.
    const byPack = new Map();
    for (const item of vm.certain) {
      if (item.kind === "node") {
        const pack = item.candidates[0].pack;
        const key = pack.id || pack.repository;
        if (!byPack.has(key)) byPack.set(key, { pack, items: [] });
        byPack.get(key).items.push(item);
      }
    }
    for (const { pack, items } of byPack.values()) {
      const results = await Promise.all(items.map((i) => decide(i, { action: "choose", candidate: 0,
        serverCandidate: i.candidates[0].server_index ?? 0, choice: i.candidates[0] })));
      const decided = items.filter((_, k) => results[k]);
      const first = decided[0]?.candidates[0];
      if (decided.length && (!first.installed || first.install?.source === "enable")) {
        await install(decided, pack, first.install);
      }
    }
    await Promise.all(vm.certain.filter((i) => i.kind === "model").map((i) => choose(i, 0)));
  }

  async function installGroup(group) {
    const items = group.items.filter((i) => !i.decision);
    const index = (i) => Math.max(0, i.candidates.findIndex((c) => c.pack && (c.pack.id || c.pack.repository) === group.key));
    const results = await Promise.all(items.map((i) => decide(i, { action: "choose", candidate: index(i),
      serverCandidate: i.candidates[index(i)]?.server_index ?? index(i), choice: i.candidates[index(i)] })));
    const decided = items.filter((_, k) => results[k]);
    if (decided.length && group.pack) await install(decided, group.pack, group.install);
  }

  /** A model whose loader's pack is missing: install that pack first (its folder exists after the restart). */
  async function installPackFirst(item) {
    const vm = viewModel(getState());
    const group = vm.nodeGroups.find((g) => g.items.some((i) => i.type === item.waitsFor?.type))
      || groupNodes(vm.inactive.filter((i) => i.kind === "node" && i.type === item.waitsFor?.type))[0];
    if (group?.pack) await installGroup(group);
    else failItem(item, "no known pack provides its loader: install it by hand, then restart");
  }

  /** Apply every finished download to the graph once (called after each task event and snapshot). */
  function applyFinished() {
    const vm = viewModel(getState());
    for (const item of [...vm.models, ...vm.inactive.filter((i) => i.kind === "model")]) {
      const task = item.task;
      if (!task || task.state !== "succeeded" || !item.decision) continue;
      const mark = `${item.id}@${task.id}`;
      if (applied.has(mark)) continue;
      applied.add(mark);
      const value = task.result?.relpath || task.params?.relpath || item.decision.choice?.relpath;
      if (value) applyModel(item, value);
    }
  }

  /** The file a fixed model item's decision names: its finished download's, or the local file chosen. */
  function decidedValue(item) {
    const task = item.task;
    if (task?.state === "succeeded") return task.result?.relpath || task.params?.relpath || item.decision?.choice?.relpath || null;
    const chosen = chosenCandidate(item, item.decision);
    return chosen?.kind === "local" ? chosen.relpath : null;
  }

  /**
   * Point the open graph's widgets at what was decided, when the analysed graph still names another
   * file: a second copy of a resolved workflow (same graph id, loaded again from a PNG or a file) gets
   * the files the first copy got, and is marked modified. An item whose node cannot be pointed is
   * counted as missing again (status "not applied"), so the header never says fixed for a run that fails.
   */
  async function applyDecided() {
    const state = getState();
    const vm = viewModel(state);
    let changed = false;
    for (const item of [...vm.models, ...vm.inactive.filter((i) => i.kind === "model")]) {
      if (!item.decision) continue;
      const value = decidedValue(item);
      const named = String(item.value || "").replace(/\\/g, "/");
      if (!value || value === named) continue;
      const mark = `${state.reportSeq}|${item.id}`;
      if (appliedDecided.has(mark)) continue;
      appliedDecided.add(mark);
      if (await applyModel(item, value)) changed = true;
      else dispatch({ type: "item/unapplied", id: item.id, named: item.value, value });
    }
    if (changed) markModified();
    return changed;
  }

  async function taskAction(call, id, item = null) {
    try {
      const task = await call(id);
      if (task) dispatch({ type: "task/event", task: task.task || task, now: now() });
      if (item) dispatch({ type: "item/clear_error", id: item.id });
    } catch (error) {
      if (item) failItem(item, error);
      else fail(error);
    }
  }

  /** Retry an item: its failed or cancelled task again, else the action that failed. */
  async function retryItem(item) {
    dispatch({ type: "item/clear_error", id: item.id });
    const task = item.task;
    if (task && (task.state === "failed" || task.state === "cancelled")) return taskAction(client.retryTask, task.id, item);
    if (task && task.state === "interrupted") return taskAction(client.resumeTask, task.id, item);
    const d = item.decision;
    if (d?.action === "url") return pasteUrl(item, d.url);
    if (d?.action === "choose") {
      const index = item.candidates.findIndex((c) => c === chosenCandidate(item, d));
      if (index >= 0) return choose(item, index);
    }
    return null;
  }

  function hint(item, text) {
    dispatch({ type: "item/hint", id: item.id, hint: text });
  }

  /**
   * Search the hub for this one file (a hit is decided as its URL: the server's analysis does not list it).
   * A look-up is no download: while it runs the item says "searching…"; nothing found or a hub out of
   * reach is said at the item, whose status stays what it was (never "failed").
   */
  async function searchItem(item) {
    dispatch({ type: "item/clear_error", id: item.id });
    hint(item, null);
    dispatch({ type: "item/looking_up", id: item.id, on: true });
    try {
      const body = await client.searchModels({ filename: item.value, folder: item.folder });
      const candidates = body?.candidates || [];
      dispatch({ type: "search/item", key: item.key, candidates });
      if (!candidates.length) hint(item, `Nothing named ${fileNameFromUrl(`https://x/${item.value}`) || item.value} on the hub: paste a URL, or mark it optional.`);
    } catch (error) {
      const unreachable = !error.status || error.status >= 500;
      hint(item, unreachable ? `Hub unreachable, nothing was looked up: ${error.message}. Try Search again later, or paste a URL.`
        : `The search was refused: ${error.message}`);
    } finally {
      dispatch({ type: "item/looking_up", id: item.id, on: false });
    }
  }

  /** Confirm sizes, hashes and gated or gone links, and search models without a certain source. */
  function searchInBackground(workflow) {
    const state = getState();
    const needs = (state.report?.missing_models || []).some((m) => !m.candidates?.some((c) => c.confidence >= 0.9)
      || m.candidates.some((c) => c.kind === "download" && !c.verified));
    const seq = state.reportSeq;
    if (!needs) {
      dispatch({ type: "search/done", reportSeq: seq, report: null }); // nothing to ask: this report is searched
      return null;
    }
    dispatch({ type: "search/start" });
    searchPromise = unlessBusy(() => client.searchModels({ workflow }), sleep)
      .then((report) => dispatch({ type: "search/done", reportSeq: seq, report }))
      .catch(() => dispatch({ type: "search/error", reportSeq: seq })); // the first report stands
    return searchPromise;
  }

  return {
    choose,
    pasteUrl,
    optional: (item) => decide(item, { action: "optional" }),
    skip: (item) => decide(item, { action: "skip" }),
    undo,
    fixAllCertain,
    installGroup,
    installPackFirst,
    applyFinished,
    applyDecided,
    retryItem,
    searchItem,
    searchInBackground,
    get searchPromise() {
      return searchPromise;
    },
    answerExisting,
    /** "Cancel" on the file_exists question: nothing is decided, the item is open again. */
    declineExisting(item) {
      dispatch({ type: "confirm/clear", id: item.id });
    },
    /** The pickle confirmation, answered in the panel: yes downloads with confirm_pickle, no forgets it. */
    async confirmDownload(item) {
      const pending = getState().confirmations[item.id];
      dispatch({ type: "confirm/clear", id: item.id });
      if (pending) await startTask(item, client.downloadModel, { ...pending.params, confirm_pickle: true });
    },
    declineDownload(item) {
      dispatch({ type: "confirm/clear", id: item.id });
      return undo(item);
    },
    /** A pack that does not fit this machine, answered in the panel: "Install anyway" resends with confirm_incompatible. */
    async confirmInstall(item) {
      const pending = getState().confirmations[item.id];
      dispatch({ type: "confirm/clear", id: item.id });
      if (!pending) return;
      const decided = pending.items?.length ? pending.items : [item];
      await startTask(item, client.installPack, { ...pending.params, confirm_incompatible: true }, decided);
    },
    /** "Cancel": nothing is installed, and the node types decided for it are open again. */
    async declineInstall(item) {
      const pending = getState().confirmations[item.id];
      dispatch({ type: "confirm/clear", id: item.id });
      for (const decided of pending?.items?.length ? pending.items : [item]) await undo(decided);
    },
    /** Stop asking a busy server again: the analysis ends here, with Retry. */
    stopRetrying: () => analyses.stop(),
    pickFolder(item, folder) {
      dispatch({ type: "folder/picked", id: item.id, folder });
    },
    setIncludeInactive(value) {
      dispatch({ type: "option/include_inactive", value });
    },
    clearFinished() {
      dispatch({ type: "tasks/clear_finished" });
    },
    cancel: (id) => taskAction(client.cancelTask, id),
    pause: (id) => taskAction(client.pauseTask, id),
    resume: (id) => taskAction(client.resumeTask, id),
    retry: (id) => taskAction(client.retryTask, id),
    async restart() {
      dispatch({ type: "restart/started" });
      try {
        await client.restart();
      } catch (error) {
        // The server may drop the connection as it goes down: that is the restart working.
        if (error.status && error.status < 500) {
          dispatch({ type: "restart/required" });
          fail(error);
        }
      }
    },
    taskEvent(raw) {
      dispatch({ type: "task/event", task: raw.task || raw, now: now() });
      applyFinished();
    },
    async loadTasks() {
      try {
        const body = await client.tasks();
        const tasks = Array.isArray(body) ? body : body?.tasks || [];
        dispatch({ type: "tasks/loaded", tasks, now: now(), restartRequired: !!body?.restart_required });
        applyFinished();
        await applyDecided();
      } catch (error) {
        if (error.status !== 404) fail(error);
      }
    },
    /** ComfyUI's model folders, for the folder picker of a guessed folder. */
    async loadFolders() {
      try {
        const folders = await client.folders();
        const names = (folders || []).map((f) => (typeof f === "string" ? f : f.name)).filter(Boolean);
        dispatch({ type: "folders/loaded", folders: names.filter((name) => !NOT_MODEL_FOLDERS.has(name)) });
      } catch {
        // Without the list a guessed folder still shows as a guess; the picker stays empty.
      }
    },
    /** After a reload: do installs made earlier still wait for a restart? */
    /** Undo the install of a pack that failed to import (POST /mend/nodes/rollback); a restart follows. */
    async rollbackPack(folder) {
      try {
        await client.rollbackPack({ folder });
        dispatch({ type: "imports/rolledback", folder });
        dispatch({ type: "restart/required" });
      } catch (error) {
        fail(error);
      }
    },
    async loadRestartStatus() {
      try {
        const body = await client.installedPacks();
        if (body?.restart_required) dispatch({ type: "restart/required" });
        // packs Mend installed that did not import after the restart: shown with ComfyUI's error and "Roll back"
        dispatch({ type: "imports/checked", checks: body?.import_checks || [] });
      } catch {
        // An older server without the route: the banner appears when an install finishes instead.
      }
    },
    async loadDecisions() {
      const key = workflowKey();
      if (!key) return;
      try {
        const body = await client.decisions(key);
        dispatch({ type: "decisions/loaded", decisions: decisionsFromServer(body, getState().report) });
      } catch (error) {
        if (error.status !== 404) fail(error);
      }
    },
    /** Analyse a serialised workflow (busy.js: a busy server is asked again); the search follows. */
    analyze: (workflow, info) => analyses.analyze(workflow, info),
  };
}
