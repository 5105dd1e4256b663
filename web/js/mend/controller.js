/**
 * What the panel's buttons do: turn a user's choice into a decision (posted at once, so a reload
 * shows it again), then into work (a download or an install task), and apply finished work to the
 * open graph (a model widget pointed at the downloaded file).
 *
 * Everything outside is injected (`client` from client.js, `dispatch`/`getState` of the store,
 * `applyModel(item, value)` that edits the graph, `confirm(message)`), so these flows are tested
 * under `node --test` with a fake client and no browser.
 */

import { itemId } from "./state.js";
import { viewModel } from "./view.js";
import { decisionBody, decisionsFromServer } from "./wire.js";

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
  client, getState, dispatch, applyModel = () => null, confirm = () => false, now = () => Date.now(),
  workflowRef = () => getState().workflow, // {key, graph?}: how POST /mend/decisions names the workflow
  clientId = () => null, // ComfyUI's websocket client id: tasks remember who started them
}) {
  const applied = new Set(); // "<item id>@<task id>": widgets already pointed at a finished download

  function workflowKey() {
    return getState().workflow?.key ?? "";
  }

  function fail(error) {
    dispatch({ type: "error", error: error?.message || String(error) });
  }

  async function decide(item, fields) {
    const decision = { workflow: workflowKey(), kind: item.kind, key: item.key, ...fields };
    const previous = getState().decisions[itemId(item.kind, item.key)] || null;
    dispatch({ type: "decision/made", decision });
    try {
      await client.decide(decisionBody(decision, workflowRef() || { key: workflowKey() }));
      dispatch({ type: "decision/saved", decision });
      return true;
    } catch (error) {
      dispatch({ type: "decision/failed", decision, previous, error: `could not save the decision: ${error.message}` });
      return false;
    }
  }

  /** Start a task; ask once when the server wants confirmation (pickle formats, URLs not in a catalog). */
  async function startTask(start, params) {
    try {
      const task = await start(params);
      if (task) dispatch({ type: "task/event", task: task.task || task, now: now() });
      return task;
    } catch (error) {
      if (error.code === "confirmation_required" && !params.confirm_pickle && confirm(error.message)) {
        return startTask(start, { ...params, confirm_pickle: true });
      }
      if (error.code === "incompatible" && !params.confirm_incompatible && confirm(error.message)) {
        return startTask(start, { ...params, confirm_incompatible: true });
      }
      if (error.code === "conflict") return null; // the same file or pack is already being worked on
      fail(error);
      return null;
    }
  }

  async function download(item, candidate) {
    // POST /mend/models/download: {url, folder, filename|relpath, sha256?, confirm_pickle?, client_id?}
    return startTask(client.downloadModel, {
      url: candidate.url,
      folder: candidate.folder || item.folder,
      relpath: candidate.relpath,
      sha256: candidate.sha256 || undefined,
      client_id: clientId() || undefined,
    });
  }

  async function install(items, pack, plan) {
    // POST /mend/nodes/install: the server's plan body ({id?, repository?, version?, commit?}: registry
    // when it has the pack, git otherwise); a pack Manager disabled is enabled instead of copied again.
    if (plan?.source === "enable") {
      try {
        return await client.enablePack({ folder: plan.folder });
      } catch (error) {
        fail(error);
        return null;
      }
    }
    const repository = /^https?:\/\//.test(pack.repository || "") ? pack.repository : undefined;
    const body = plan?.body || { id: (pack.cnr_id ?? pack.id) || undefined, repository };
    return startTask(client.installPack, { ...body, client_id: clientId() || undefined });
  }

  async function choose(item, index) {
    const candidate = item.candidates[index];
    if (!candidate) return;
    if (!(await decide(item, { action: "choose", candidate: index, choice: candidate }))) return;
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
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      fail(`not a URL: ${url}`);
      return;
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      fail("only https:// URLs can be downloaded");
      return;
    }
    const name = fileNameFromUrl(url);
    const dir = String(item.value || "").includes("/") ? item.value.slice(0, item.value.lastIndexOf("/") + 1) : "";
    const candidate = { kind: "download", reason: "url", url, folder: item.folder, relpath: dir + (name || item.value), source: "url" };
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
      const results = await Promise.all(items.map((i) => decide(i, { action: "choose", candidate: 0, choice: i.candidates[0] })));
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
    const results = await Promise.all(items.map((i) => decide(i, { action: "choose", candidate: index(i), choice: i.candidates[index(i)] })));
    const decided = items.filter((_, k) => results[k]);
    if (decided.length && group.pack) await install(decided, group.pack, group.install);
  }

  /** Apply every finished download to the graph once (called after each task event and snapshot). */
  function applyFinished() {
    const vm = viewModel(getState());
    for (const item of vm.models) {
      const task = item.task;
      if (!task || task.state !== "succeeded" || !item.decision) continue;
      const mark = `${item.id}@${task.id}`;
      if (applied.has(mark)) continue;
      applied.add(mark);
      const value = task.result?.relpath || task.params?.relpath || item.decision.choice?.relpath;
      if (value) applyModel(item, value);
    }
  }

  return {
    choose,
    pasteUrl,
    optional: (item) => decide(item, { action: "optional" }),
    skip: (item) => decide(item, { action: "skip" }),
    fixAllCertain,
    installGroup,
    applyFinished,
    async cancel(id) {
      try {
        const task = await client.cancelTask(id);
        if (task) dispatch({ type: "task/event", task: task.task || task, now: now() });
      } catch (error) {
        fail(error);
      }
    },
    async retry(id) {
      try {
        const task = await client.retryTask(id);
        if (task) dispatch({ type: "task/event", task: task.task || task, now: now() });
      } catch (error) {
        fail(error);
      }
    },
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
      } catch (error) {
        if (error.status !== 404) fail(error);
      }
    },
    /** After a reload: do installs made earlier still wait for a restart? */
    async loadRestartStatus() {
      try {
        const body = await client.installedPacks();
        if (body?.restart_required) dispatch({ type: "restart/required" });
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
    /** Analyse a serialised workflow; resolves to the report (or null on failure). */
    async analyze(workflow, info) {
      dispatch({ type: "analysis/start", workflow: info });
      try {
        const report = await client.analyze(workflow);
        dispatch({ type: "analysis/done", workflow: info, report });
        return report;
      } catch (error) {
        dispatch({ type: "analysis/error", error: `analysis failed: ${error.message}` });
        return null;
      }
    },
  };
}
