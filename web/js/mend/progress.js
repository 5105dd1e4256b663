/**
 * Progress text of this tab's own prompts, for Mend's panel and for any other extension.
 *
 * Mend sends each `send_progress_text` call's binary frame and its JSON twin `mend.progress_text`
 * to the client that queued the prompt (`"scope": "client"`); a prompt queued without a client id
 * (API-only) is broadcast (`"broadcast"`), and a socket that follows all prompts gets a copy of
 * the others' twins (`"follow"`). This module sorts them out: `onOwnProgressText` calls back only for
 * prompts this page queued.
 *
 * No imports and no side effects, so it loads anywhere: Mend's panel imports it as a sibling, other
 * extensions from its fixed address (Mend's folder name under custom_nodes varies):
 *
 *     import { api } from "../../scripts/api.js";
 *     const { onOwnProgressText } = await import(api.apiURL("/mend/progress.js"));
 *     const stop = onOwnProgressText(api, ({ prompt_id, display_node_id, text }) => { ... });
 */

export const EVENT = "mend.progress_text";
/** How many prompt ids a feed remembers as this page's own. */
export const REMEMBERED_PROMPTS = 200;

/**
 * Is this twin about a prompt this page queued? `ownPrompts` holds ids learnt from `execution_start`
 * (ComfyUI sends it to the queuing client only); twins from a Mend without `scope` fall back to it.
 */
export function isOwnText(detail, ownPrompts = new Set()) {
  if (!detail || typeof detail.text !== "string") return false;
  if (detail.scope === "client") return true;
  if (detail.scope === "follow" || detail.scope === "broadcast") return ownPrompts.has(detail.prompt_id);
  return ownPrompts.has(detail.prompt_id);
}

/**
 * Call `handler(detail)` for each `mend.progress_text` of a prompt this page queued, where `detail` is
 * `{prompt_id, node_id, display_node_id, real_node_id, parent_node_id, text, scope}`. With
 * `{ others: true }` the other prompts' twins this page receives (broadcast, or copies while following)
 * come too, with `own: false`. Returns a function that stops listening.
 */
export function onOwnProgressText(api, handler, { others = false } = {}) {
  const own = new Set();
  const onStart = (e) => {
    const id = e.detail?.prompt_id;
    if (!id) return;
    own.add(id);
    if (own.size > REMEMBERED_PROMPTS) own.delete(own.values().next().value);
  };
  const onText = (e) => {
    const detail = e.detail;
    if (isOwnText(detail, own)) handler({ ...detail, own: true });
    else if (others && detail && typeof detail.text === "string") handler({ ...detail, own: false });
  };
  api.addEventListener("execution_start", onStart);
  api.addEventListener(EVENT, onText);
  return () => {
    api.removeEventListener("execution_start", onStart);
    api.removeEventListener(EVENT, onText);
  };
}

/**
 * Ask the server to send this page a copy of every other prompt's progress text (or to stop).
 * The server forgets it when the websocket closes: call it again after `reconnected`.
 */
export async function followAllPrompts(api, on = true) {
  const clientId = api.clientId ?? api.initialClientId;
  if (!clientId) throw new Error("the websocket has no client id yet");
  const response = await api.fetchApi("/mend/progress/follow", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ client_id: clientId, all: !!on }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new Error(body?.error?.message || `following all prompts failed (${response.status})`);
  }
  return response.json();
}
