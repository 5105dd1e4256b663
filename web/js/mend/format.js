/**
 * How the panel writes numbers and reasons: sizes, rates, ETAs, percentages, candidate lines.
 *
 * Pure functions, no DOM and no ComfyUI imports, so `node --test` covers them. Sizes use decimal
 * units (kB, MB, GB) like Hugging Face and browsers' download lists; every figure has a fixed
 * number of decimals so a row does not change width while a download runs.
 *
 *     formatBytes(1_536_000)        // "1.54 MB"
 *     formatRate(12_500_000)        // "12.5 MB/s"
 *     formatEta(125)                // "2 min 05 s"
 */

const UNITS = ["B", "kB", "MB", "GB", "TB"];

/** "0 B", "999 B", "1.00 kB", "12.3 MB", "123 GB": three significant digits above 1 kB. */
export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return "—";
  if (n < 1000) return `${Math.round(n)} B`;
  let unit = 0;
  let value = n;
  while (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Bytes per second as "12.5 MB/s"; unknown or zero rates as "—". */
export function formatRate(bytesPerSecond) {
  if (!bytesPerSecond || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds left as "45 s", "2 min 05 s", "1 h 02 min"; unknown as "—". */
export function formatEta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  if (s < 100 * 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  return "> 4 days";
}

/** Seconds left at the given rate, or null when it cannot be known. */
export function etaSeconds(done, total, rate) {
  if (!total || !rate || rate <= 0 || done === null || done === undefined) return null;
  return Math.max(0, (total - done) / rate);
}

/** A fraction in [0, 1], or null when the total is unknown. */
export function fraction(done, total) {
  if (!total || total <= 0 || done === null || done === undefined) return null;
  return Math.min(1, Math.max(0, done / total));
}

/** "42.0%": one decimal, so the text never jumps between widths mid-download. */
export function formatPercent(frac) {
  if (frac === null || frac === undefined || !Number.isFinite(frac)) return "—";
  return `${(Math.floor(frac * 1000) / 10).toFixed(1)}%`;
}

/** Why a node pack is proposed, in words (reasons as `POST /mend/analyze` names them). */
export const NODE_REASONS = {
  cnr_id: "named by the workflow (registry id)",
  aux_id: "named by the workflow (repository)",
  preemption: "claims this node name in Manager's map",
  exact: "listed in Manager's node map",
  pattern: "matches the pack's node-name pattern",
  registry: "found by the Comfy Registry",
  frontend: "a node this pack implements in the editor only",
  name_hint: "a guess from the node's name",
};

/** Reasons whose evidence the server's `explanation` names (its first clause: what in the name points at the pack). */
const SAID_BY_SERVER = new Set(["name_hint"]);

/** A node candidate's reason: the table's words, or the server's own evidence where the table cannot say it. */
function nodeReason(candidate) {
  const first = String(candidate.explanation || "").split("; ")[0];
  return SAID_BY_SERVER.has(candidate.reason) && first ? `${first} (a guess)` : reasonText(candidate.reason, "node");
}

/** Why a model source is proposed, in words. */
export const MODEL_REASONS = {
  same_hash: "same file (sha256) already on disk",
  same_name_other_subfolder: "same file name in another subfolder",
  case_insensitive: "same name, other letter case",
  same_name_other_folder: "same name in another model folder",
  workflow_metadata: "link saved in the workflow",
  manager_model_list: "ComfyUI-Manager's model list",
  huggingface: "found on Hugging Face",
  url: "URL you pasted",
  link_problem: "link that cannot be downloaded now",
};

/** A link probe's outcome (`probe.outcome`, docs/downloads.md) as the item's status word. */
export const LINK_OUTCOMES = {
  needs_login: "needs login",
  not_found: "not found",
  web_page: "web page",
  wrong_kind: "wrong kind",
  unreachable: "unreachable",
  refused: "link refused",
  rejected: "link refused",
};

/**
 * What a probed link's server said, as one line: "real name.safetensors · 2.0 GB · resumable" for a file
 * (without the size where the line beside it shows it already), the named problem's message otherwise;
 * "" when the link was not probed (Hugging Face, a local file).
 */
export function linkLine(probe, withSize = true) {
  if (!probe) return "";
  if (probe.outcome !== "usable") return probe.message || LINK_OUTCOMES[probe.outcome] || "";
  const size = probe.size !== undefined && probe.size !== null ? formatBytes(probe.size) : "size unknown";
  return [probe.filename, withSize ? size : "", probe.ranges ? "resumable" : "not resumable"]
    .filter(Boolean).join(" · ");
}

export function reasonText(reason, kind = "model") {
  const table = kind === "node" ? NODE_REASONS : MODEL_REASONS;
  return table[reason] || String(reason || "").replace(/_/g, " ");
}

/** Confidence as a word the user can act on. */
export function confidenceLabel(confidence) {
  if (confidence === null || confidence === undefined) return "";
  if (confidence >= 0.95) return "certain";
  if (confidence >= 0.85) return "likely";
  if (confidence >= 0.7) return "possible";
  return "weak";
}

/** Where a model candidate comes from, short: "local", "huggingface.co", "workflow link"... */
export function sourceLabel(candidate) {
  if (!candidate) return "";
  if (candidate.kind === "local") return "on disk";
  if (candidate.host) return candidate.host;
  if (candidate.url) {
    try {
      return new URL(candidate.url).hostname;
    } catch {
      return candidate.source || "";
    }
  }
  return candidate.source || "";
}

/**
 * One candidate as the lines the panel shows: a title, why, how sure, how big, from where.
 * Works for node-pack candidates (`{pack, reason, ...}`) and model candidates (`{kind, relpath, ...}`).
 */
export function describeCandidate(candidate) {
  if (candidate.pack) {
    const pack = candidate.pack;
    const stars = pack.stars ? `${pack.stars}★` : "";
    return {
      title: pack.title || pack.id || pack.repository,
      reason: nodeReason(candidate),
      confidence: confidenceLabel(candidate.confidence),
      size: "",
      source: [stars, candidate.installed && !candidate.install?.folder ? "installed" : "",
        candidate.covers > 1 ? `covers ${candidate.covers}` : "", candidate.install?.label || ""]
        .filter(Boolean)
        .join(" · "),
      href: pack.repository && /^https?:/.test(pack.repository) ? pack.repository : null,
    };
  }
  const where = candidate.folder ? `${candidate.folder}/${candidate.relpath}` : candidate.relpath;
  const size = candidate.size ? formatBytes(candidate.size) : candidate.size_text || "size unknown";
  return {
    title: where,
    reason: reasonText(candidate.reason, "model"),
    confidence: confidenceLabel(candidate.confidence),
    size: candidate.kind === "local" ? formatBytes(candidate.size) : size,
    source: sourceLabel(candidate) + (candidate.pickle ? " · pickle format" : ""),
    href: candidate.url || null,
  };
}

/** "3 missing": the toast and the panel's heading. */
export function missingSummary(report) {
  if (!report) return "";
  const nodes = report.missing_nodes?.length || 0;
  const models = report.missing_models?.length || 0;
  const parts = [];
  if (nodes) parts.push(`${nodes} node type${nodes === 1 ? "" : "s"}`);
  if (models) parts.push(`${models} model${models === 1 ? "" : "s"}`);
  return parts.join(", ");
}

/**
 * The panel's warning line when a catalog Mend needs could not be loaded (offline, no cache), else null.
 *
 *     catalogWarning({warnings: [{code: "catalog_missing", message: "extension-node-map.json could not be loaded…"}]})
 *     // "Catalogs missing: extension-node-map.json could not be loaded…"
 */
export function catalogWarning(report) {
  const found = (report?.warnings || []).filter((w) => w && (w.code === "catalog_missing" || w.code === "catalog_stale"));
  if (!found.length) return null;
  const label = found.some((w) => w.code === "catalog_missing") ? "Catalogs missing" : "Catalogs out of date";
  // the server's advice (what it means for the user and what to do) once, after the details
  const advice = found.find((w) => w.must_act && w.advice)?.advice || "";
  return `${label}: ${found.map((w) => w.message).join(" ")}${advice ? ` ${advice}` : ""}`;
}
