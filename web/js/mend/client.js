/**
 * Every HTTP call the panel makes, in one place: Mend's routes under /mend/ and the two ComfyUI
 * routes it reads. When a route's shape changes, this is the file to edit.
 *
 * `fetchApi` is ComfyUI's `api.fetchApi` (it prefixes `/api` and adds the user header); tests pass
 * any function with `fetch`'s signature. Errors come back as `MendApiError` carrying the API's
 * error `code` (see docs/http-api.md, Error codes), so callers can react to `confirmation_required`,
 * `conflict` and the like.
 */

export class MendApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const err = body?.error || {};
    super(err.message || `HTTP ${status}`);
    this.name = "MendApiError";
    this.status = status;
    this.code = err.code || `http_${status}`;
    this.field = err.field ?? null;
    this.body = body;
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After header (null without one)
  }
}

/** Seconds a `Retry-After` header asks to wait (a number of seconds or an HTTP date); null if absent or unreadable. */
export function retryAfterSeconds(value, nowMs = Date.now()) {
  const text = String(value ?? "").trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

export function createClient(fetchApi) {
  async function call(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetchApi(path, init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { error: { message: text.slice(0, 200) } };
    }
    if (!response.ok) throw new MendApiError(response.status, data, retryAfterSeconds(response.headers?.get?.("Retry-After")));
    return data;
  }
  const enc = encodeURIComponent;

  return {
    call,
    /** POST /mend/analyze: the report of what the workflow lacks. */
    analyze: (workflow, options = {}) => call("POST", "/mend/analyze", { workflow, ...options }),

    /** Decisions already made for a workflow (so a reload shows them again). */
    decisions: (workflow) => call("GET", `/mend/decisions?workflow=${enc(workflow)}`),
    /** Make one decision durable at once. */
    decide: (decision) => call("POST", "/mend/decisions", decision),

    tasks: () => call("GET", "/mend/tasks"),
    cancelTask: (id) => call("POST", `/mend/tasks/${enc(id)}/cancel`, {}),
    retryTask: (id) => call("POST", `/mend/tasks/${enc(id)}/retry`, {}),
    pauseTask: (id) => call("POST", `/mend/tasks/${enc(id)}/pause`, {}),
    resumeTask: (id) => call("POST", `/mend/tasks/${enc(id)}/resume`, {}),

    searchModels: (query) => call("POST", "/mend/models/search", query),
    downloadModel: (params) => call("POST", "/mend/models/download", params),

    installPack: (params) => call("POST", "/mend/nodes/install", params),
    installedPacks: () => call("GET", "/mend/nodes/installed"),
    enablePack: (params) => call("POST", "/mend/nodes/enable", params),
    rollbackPack: (params) => call("POST", "/mend/nodes/rollback", params),
    restart: () => call("POST", "/mend/restart", {}),

    /** ComfyUI's model folders (its own `GET /models`): the folder picker's list. */
    folders: () => call("GET", "/models"),

    /** ComfyUI's own queue: which prompts run and wait (prompts other tabs queued included). */
    queue: () => call("GET", "/queue"),
  };
}
