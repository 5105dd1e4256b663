/**
 * Plain words for what the server refuses or asks, as the panel shows them at the place they concern:
 * why a pack does not fit this machine (the install route's `409 incompatible`), and why an analysis
 * failed (`POST /mend/analyze`'s named errors). The server's messages name API fields
 * ("confirm_incompatible"); a person clicking buttons needs what does not fit and what to do.
 *
 *     incompatibleQuestion({ message: "x 1.0 does not fit this machine: …",
 *                            conflicts: [{ type: "os", required: "Windows", current: "Linux" }] })
 *     // { title: "x 1.0 does not fit this machine", reasons: ["It runs on Windows; this machine runs Linux."] }
 */

const CONFLICT_WORDS = {
  comfyui_version: (c) => `It needs ComfyUI ${c.required}; this is ComfyUI ${c.current}.`,
  frontend_version: (c) => `It needs ComfyUI frontend ${c.required}; this is ${c.current}.`,
  os: (c) => `It runs on ${c.required}; this machine runs ${c.current}.`,
  accelerator: (c) => `It needs ${c.required}; this machine has ${c.current}.`,
};

/** One sentence per compatibility conflict (`[{type, required, current}]` from the install route). */
export function conflictReasons(conflicts) {
  return (conflicts || []).map((c) => (CONFLICT_WORDS[c.type] || ((x) => `It needs ${x.required}; this is ${x.current}.`))(c));
}

/**
 * The question shown at an item whose pack the install route refused as incompatible: a title naming
 * the pack (and version) and what does not fit; the server's own reasons when it sent no list.
 */
export function incompatibleQuestion(confirmation, fallbackName = "This pack") {
  const message = String(confirmation?.message || "");
  const named = message.match(/^(.*?) does not fit this machine/);
  const title = `${named ? named[1] : fallbackName} does not fit this machine`;
  let reasons = conflictReasons(confirmation?.conflicts);
  if (!reasons.length) {
    const told = message.replace(/^.*?does not fit this machine:?\s*/, "").replace(/;?\s*install it anyway with confirm_incompatible\s*$/, "");
    reasons = told ? [sentence(told)] : [];
  }
  return { title, reasons };
}

function sentence(text) {
  const t = String(text).trim();
  return t ? `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? "" : "."}` : "";
}

/** Why an analysis did not happen, said so that the next step is clear (a Retry button follows it). */
export function analysisErrorText(error) {
  const told = error?.message || String(error || "");
  switch (error?.code) {
    case "too_many_requests":
      return "The server is busy with other analyses. Try again in a moment.";
    case "analysis_too_long":
      return `${sentence(told)} The server's limit is MEND_ANALYSIS_TIMEOUT (seconds); a smaller workflow, or a higher limit, gets through.`;
    case "analysis_unavailable":
      return "The server's analysis helper stopped unexpectedly. Try again; the server log says why.";
    case "invalid_json":
    case "invalid_workflow":
    case "bad_request":
      return `Mend could not read this workflow: ${told}`;
    default:
      if (error?.status === undefined) return `Could not reach the server: ${told}`;
      return `Analysis failed: ${told}`;
  }
}
