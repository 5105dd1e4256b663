// The list of controls the browser suite must click (panel.js CONTROLS) matches what the code renders.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CONTROLS } from "../../web/js/mend/panel.js";

const source = ["../../web/js/mend/panel.js", "../../web/js/mend/asks.js", "../../web/js/mend.js"]
  .map((f) => readFileSync(new URL(f, import.meta.url), "utf8")).join("\n");

test("every data-control the panel and toast render is listed in CONTROLS, and nothing else", () => {
  const rendered = new Set([...source.matchAll(/"data-control": "([a-z-]+)"/g), ...source.matchAll(/dataset\.control = "([a-z-]+)"/g)]
    .map((m) => m[1]));
  assert.deepEqual([...rendered].sort(), [...CONTROLS].sort());
});
