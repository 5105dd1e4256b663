// Formatting of sizes, rates, ETAs, percentages and candidate lines (web/js/mend/format.js).
import test from "node:test";
import assert from "node:assert/strict";
import {
  catalogWarning, confidenceLabel, describeCandidate, etaSeconds, formatBytes, formatEta, formatPercent, formatRate, fraction,
  LINK_OUTCOMES, linkLine, missingSummary, reasonText, sourceLabel,
} from "../../web/js/mend/format.js";

test("sizes use decimal units with three significant digits", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1000), "1.00 kB");
  assert.equal(formatBytes(1_536_000), "1.54 MB");
  assert.equal(formatBytes(12_340_000), "12.3 MB");
  assert.equal(formatBytes(999_600), "1.00 MB"); // rounds up across a unit boundary, never "1000 kB"
  assert.equal(formatBytes(6_938_040_682), "6.94 GB");
  assert.equal(formatBytes(null), "—");
  assert.equal(formatBytes(-1), "—");
});

test("rates and ETAs say — when unknown", () => {
  assert.equal(formatRate(12_500_000), "12.5 MB/s");
  assert.equal(formatRate(0), "—");
  assert.equal(formatRate(null), "—");
  assert.equal(formatEta(0), "0 s");
  assert.equal(formatEta(44.2), "45 s");
  assert.equal(formatEta(125), "2 min 05 s");
  assert.equal(formatEta(3725), "1 h 02 min");
  assert.equal(formatEta(1e9), "> 4 days");
  assert.equal(formatEta(null), "—");
  assert.equal(etaSeconds(50, 150, 10), 10);
  assert.equal(etaSeconds(50, null, 10), null);
  assert.equal(etaSeconds(50, 150, 0), null);
});

test("fractions clamp and percentages keep one decimal (fixed width)", () => {
  assert.equal(fraction(5, 10), 0.5);
  assert.equal(fraction(12, 10), 1);
  assert.equal(fraction(5, 0), null);
  assert.equal(formatPercent(0.5), "50.0%");
  assert.equal(formatPercent(0.9999), "99.9%"); // never shows 100% before it is done
  assert.equal(formatPercent(1), "100.0%");
  assert.equal(formatPercent(null), "—");
});

test("reasons and confidences read as words", () => {
  assert.equal(reasonText("cnr_id", "node"), "named by the workflow (registry id)");
  assert.equal(reasonText("workflow_metadata"), "link saved in the workflow");
  assert.equal(reasonText("some_new_reason"), "some new reason");
  assert.equal(confidenceLabel(1), "certain");
  assert.equal(confidenceLabel(0.9), "likely");
  assert.equal(confidenceLabel(0.75), "possible");
  assert.equal(confidenceLabel(0.5), "weak");
});

test("a model download candidate shows its place, size, source and why", () => {
  const d = describeCandidate({
    kind: "download", reason: "workflow_metadata", confidence: 0.9, folder: "checkpoints", relpath: "sd/x.safetensors",
    url: "https://huggingface.co/a/b/resolve/main/x.safetensors", host: "huggingface.co", size: 2_000_000_000, pickle: false,
  });
  assert.deepEqual(d, {
    title: "checkpoints/sd/x.safetensors", reason: "link saved in the workflow", confidence: "likely", size: "2.00 GB",
    source: "huggingface.co", href: "https://huggingface.co/a/b/resolve/main/x.safetensors",
  });
  const unknownSize = describeCandidate({ kind: "download", reason: "manager_model_list", folder: "loras", relpath: "a.ckpt",
    url: "https://example.org/a.ckpt", pickle: true, size_text: "10MB" });
  assert.equal(unknownSize.size, "10MB");
  assert.equal(unknownSize.source, "example.org · pickle format");
  assert.equal(sourceLabel({ kind: "local" }), "on disk");
});

test("a node pack candidate shows stars, installed and coverage", () => {
  const d = describeCandidate({ pack: { id: "vhs", title: "Video Helper Suite", repository: "https://github.com/k/vhs", stars: 1772 },
    reason: "exact", confidence: 0.9, installed: true, covers: 3 });
  assert.equal(d.title, "Video Helper Suite");
  assert.equal(d.reason, "listed in Manager's node map");
  assert.equal(d.source, "1772★ · installed · covers 3");
  assert.equal(d.href, "https://github.com/k/vhs");
  assert.equal(describeCandidate({ pack: { id: "x", repository: "registry:x" }, reason: "registry" }).href, null);
});

test("a name hint says what in the name points at the pack, as the server words it", () => {
  const d = describeCandidate({ pack: { id: "ltx", repository: "https://github.com/l/ltx", stars: 4082 }, reason: "name_hint",
    explanation: "its name begins “LTXV”, like 38 of this pack's nodes; the catalogs do not list the node; 4082★" });
  assert.equal(d.reason, "its name begins “LTXV”, like 38 of this pack's nodes (a guess)");
  assert.equal(describeCandidate({ pack: { id: "ltx" }, reason: "name_hint" }).reason, "a guess from the node's name");
  assert.equal(describeCandidate({ pack: { id: "eu" }, reason: "frontend" }).reason,
    "a node this pack implements in the editor only");
});

test("the missing summary counts node types and models", () => {
  assert.equal(missingSummary({ missing_nodes: [{}, {}], missing_models: [{}] }), "2 node types, 1 model");
  assert.equal(missingSummary({ missing_nodes: [], missing_models: [] }), "");
});

test("catalogWarning: a line when a catalog could not be loaded, nothing otherwise", () => {
  assert.equal(catalogWarning(null), null);
  assert.equal(catalogWarning({ warnings: [{ code: "dangling_link", message: "link 3" }] }), null);
  const line = catalogWarning({ warnings: [
    { code: "catalog_missing", message: "extension-node-map.json could not be loaded (offline)." },
    { code: "catalog_stale", message: "model-list.json is 9.0 days old." },
  ] });
  assert.ok(line.startsWith("Catalogs missing: extension-node-map.json could not be loaded"));
  assert.ok(line.includes("model-list.json is 9.0 days old"));
  const advised = catalogWarning({ warnings: [{ code: "catalog_missing", message: "x could not be loaded.",
    advice: "Go online once.", must_act: true }] });
  assert.equal(advised, "Catalogs missing: x could not be loaded. Go online once.");
});

test("a probed link reads as its file, size and resumability, or as its named problem", () => {
  assert.equal(linkLine({ outcome: "usable", filename: "x.safetensors", size: 2_000_000_000, ranges: true }),
    "x.safetensors · 2.00 GB · resumable");
  assert.equal(linkLine({ outcome: "usable", filename: "x.bin", ranges: false }), "x.bin · size unknown · not resumable");
  assert.equal(linkLine({ outcome: "web_page", message: "files.example answers with a web page" }),
    "files.example answers with a web page");
  assert.equal(linkLine({ outcome: "usable", filename: "x.bin", size: 10, ranges: true }, false), "x.bin · resumable");
  assert.equal(linkLine(null), "");
  assert.equal(LINK_OUTCOMES.needs_login, "needs login");
});
