/**
 * The panel's stylesheet, built from ComfyUI's own CSS variables so it follows the light and dark
 * palettes (`--comfy-menu-bg`, `--fg-color`, `--border-color`, PrimeVue's `--p-*` in 1.35).
 * Progress rows have fixed heights and figures use tabular numbers: nothing moves while bytes tick.
 * Exported as a string; the entry module adds it to the page once.
 */

export const STYLE_ID = "mend-panel-style";

export const CSS = `
.mend-panel {
  --mend-fg: var(--fg-color, var(--p-text-color, #ddd));
  --mend-muted: var(--descrip-text, var(--p-text-muted-color, #999));
  --mend-bg: var(--comfy-menu-bg, var(--p-content-background, #353535));
  --mend-bg2: var(--comfy-menu-secondary-bg, var(--comfy-input-bg, #222));
  --mend-input: var(--comfy-input-bg, var(--p-form-field-background, #222));
  --mend-border: var(--border-color, var(--p-content-border-color, #4e4e4e));
  --mend-accent: var(--p-primary-color, #3b82f6);
  --mend-accent-fg: var(--p-primary-contrast-color, #fff);
  --mend-ok: var(--p-green-500, #22c55e);
  /* Error text at 4.5:1 or more on both palettes (ComfyUI's own red is 3.2-3.7:1 on the light one). */
  --mend-bad: #b91c1c;
  color: var(--mend-fg);
  background: var(--mend-bg);
  font-size: 13px;
  line-height: 1.35;
  padding: 10px 12px 24px;
  box-sizing: border-box;
  height: 100%;
  overflow-y: auto;
  overflow-x: hidden;
}
:root:has(.dark-theme) .mend-panel, .dark-theme .mend-panel, .dark-theme.mend-panel { --mend-bad: #fca5a5; }
.mend-panel *, .mend-panel *::before, .mend-panel *::after { box-sizing: border-box; }
.mend-panel h2, .mend-panel h3 { margin: 0; font-weight: 600; }
.mend-title-row { display: flex; align-items: baseline; gap: 8px; min-width: 0; }
.mend-title { font-size: 16px; }
.mend-workflow { color: var(--mend-muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.mend-summary { margin: 4px 0 8px; color: var(--mend-muted); }
.mend-toolbar, .mend-item-actions { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.mend-btn {
  font: inherit; color: var(--mend-fg); background: var(--mend-bg2); border: 1px solid var(--mend-border);
  border-radius: 6px; padding: 3px 10px; min-height: 26px; cursor: pointer; white-space: nowrap;
}
.mend-btn:hover:not(:disabled) { border-color: var(--mend-accent); }
.mend-btn:disabled { opacity: .5; cursor: default; }
.mend-btn-primary { background: var(--mend-accent); color: var(--mend-accent-fg); border-color: var(--mend-accent); }
.mend-btn-text { background: transparent; border-color: transparent; padding: 3px 6px; }
.mend-btn[aria-pressed="true"] { border-color: var(--mend-accent); color: var(--mend-accent); }
.mend-panel :focus-visible { outline: 2px solid var(--mend-accent); outline-offset: 1px; }
.mend-banner {
  display: flex; gap: 8px; align-items: center; justify-content: space-between; margin: 8px 0; padding: 8px 10px;
  border: 1px solid var(--mend-accent); border-radius: 6px; background: var(--mend-bg2);
}
.mend-banner[hidden], .mend-error[hidden], .mend-section[hidden], .mend-mini[hidden], .mend-btn[hidden],
.mend-analysis-line[hidden], .mend-busy[hidden], .mend-analysis-error[hidden] { display: none; }
.mend-error { color: var(--mend-bad); margin: 6px 0; }
.mend-section { margin-top: 14px; }
.mend-section h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--mend-muted); margin-bottom: 6px; }
.mend-section-head { display: flex; justify-content: space-between; align-items: center; }
.mend-group { border: 1px solid var(--mend-border); border-radius: 8px; padding: 8px; margin-bottom: 8px; }
.mend-group-head { display: flex; justify-content: space-between; align-items: center; gap: 8px; margin-bottom: 4px; }
.mend-group-title { display: flex; flex-direction: column; min-width: 0; }
.mend-item { border-top: 1px solid var(--mend-border); padding: 8px 0; }
.mend-section > .mend-item:first-of-type { border-top: none; }
.mend-item-head { display: flex; justify-content: space-between; align-items: center; gap: 8px; min-width: 0; }
.mend-name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
code.mend-name { font-family: var(--p-font-family-mono, ui-monospace, monospace); font-size: 12px; }
.mend-sub, .mend-meta { color: var(--mend-muted); font-size: 12px; margin: 2px 0 6px; overflow-wrap: anywhere; }
.mend-folder { color: var(--mend-fg); }
.mend-chip {
  flex: none; font-size: 11px; padding: 1px 7px; border-radius: 999px; border: 1px solid var(--mend-border);
  color: var(--mend-muted); white-space: nowrap;
}
.mend-chip-certain, .mend-chip-downloaded, .mend-chip-installed, .mend-chip-uses-local-file { color: var(--mend-ok); border-color: var(--mend-ok); }
.mend-chip-failed, .mend-chip-no-source, .mend-chip-gated, .mend-chip-link-gone, .mend-chip-needs-login,
.mend-chip-not-found, .mend-chip-web-page, .mend-chip-wrong-kind, .mend-chip-unreachable,
.mend-chip-link-refused { color: var(--mend-bad); border-color: var(--mend-bad); }
.mend-chip-waits-for-pack, .mend-chip-paused, .mend-chip-confirm { color: var(--mend-fg); border-color: var(--mend-accent); }
.mend-item-error {
  display: flex; gap: 8px; align-items: flex-start; justify-content: space-between; margin: 4px 0 6px; padding: 6px 8px;
  border: 1px solid var(--mend-bad); border-radius: 6px; color: var(--mend-bad); overflow-wrap: anywhere;
}
.mend-item-error .mend-btn { flex: none; }
.mend-failed > .mend-item-head .mend-name { color: var(--mend-bad); }
.mend-confirm, .mend-waits {
  margin: 4px 0 6px; padding: 6px 8px; border: 1px solid var(--mend-accent); border-radius: 6px; background: var(--mend-bg2);
}
.mend-confirm p { margin: 0 0 6px; }
.mend-confirm-title { font-weight: 600; }
.mend-confirm-reasons { margin: 0 0 6px; padding-left: 18px; }
.mend-analysis-line { margin: 0 0 8px; }
.mend-analysis-line:focus { outline: none; }
.mend-busy {
  display: flex; gap: 8px; align-items: center; justify-content: space-between; padding: 6px 8px;
  border: 1px solid var(--mend-accent); border-radius: 6px; background: var(--mend-bg2); color: var(--mend-fg);
}
.mend-busy .mend-btn, .mend-analysis-error .mend-btn { flex: none; }
.mend-waits { display: flex; flex-direction: column; gap: 6px; align-items: flex-start; }
.mend-folder-pick { display: flex; gap: 6px; align-items: center; margin: 0 0 6px; font-size: 12px; color: var(--mend-muted); }
.mend-select { font: inherit; color: var(--mend-fg); background: var(--mend-input); border: 1px solid var(--mend-border); border-radius: 6px; padding: 2px 6px; }
.mend-guess { color: var(--mend-muted); font-style: italic; }
.mend-inactive-mark { color: var(--mend-muted); }
.mend-inactive .mend-item { opacity: .85; }
.mend-check { display: flex; gap: 6px; align-items: center; margin: 0 0 6px; font-size: 12px; }
.mend-searching { font-style: italic; }
.mend-chip-downloading, .mend-chip-installing, .mend-chip-chosen { color: var(--mend-accent); border-color: var(--mend-accent); }
.mend-cands { list-style: none; margin: 0 0 6px; padding: 0; display: grid; gap: 4px; }
.mend-cand {
  display: grid; grid-template-columns: 1fr; width: 100%; text-align: left; font: inherit; color: var(--mend-fg);
  background: var(--mend-input); border: 1px solid var(--mend-border); border-radius: 6px; padding: 5px 8px; cursor: pointer;
}
.mend-cand:hover { border-color: var(--mend-accent); }
.mend-cand.mend-selected { border-color: var(--mend-accent); box-shadow: inset 3px 0 0 var(--mend-accent); }
.mend-cand-title { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.mend-cand-reason, .mend-cand-meta, .mend-cand-link { color: var(--mend-muted); font-size: 12px; }
.mend-cand-problem { color: var(--mend-bad); font-size: 12px; overflow-wrap: anywhere; }
.mend-link { overflow-wrap: anywhere; }
.mend-url {
  flex: 1 1 160px; min-width: 0; font: inherit; color: var(--mend-fg); background: var(--mend-input);
  border: 1px solid var(--mend-border); border-radius: 6px; padding: 3px 8px; min-height: 26px;
}
.mend-decided .mend-cands .mend-cand:not(.mend-selected) { opacity: .7; }
.mend-none { font-style: italic; }
.mend-mini { display: flex; align-items: center; gap: 8px; height: 18px; margin-top: 6px; }
.mend-mini .mend-bar { flex: 1; }
.mend-mini-pct { width: 6ch; text-align: right; font-size: 12px; }
.mend-num { font-variant-numeric: tabular-nums; }
.mend-rows { display: grid; gap: 6px; }
.mend-row {
  height: 88px; overflow: hidden; border: 1px solid var(--mend-border); border-radius: 8px; padding: 5px 8px;
  display: grid; grid-template-rows: 24px 6px 18px 16px; row-gap: 3px; background: var(--mend-bg2);
}
.mend-row-top { display: flex; align-items: center; gap: 6px; min-width: 0; }
.mend-row-label { flex: 1; min-width: 0; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.mend-row-message { display: flex; gap: 8px; min-width: 0; }
.mend-row-message .mend-row-state { flex: none; white-space: nowrap; color: var(--mend-fg); }
.mend-row-msg { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.mend-row[data-state="failed"] .mend-row-msg { color: var(--mend-bad); }
.mend-row-buttons { flex: none; display: flex; gap: 2px; }
.mend-row-buttons .mend-btn { min-height: 22px; padding: 1px 6px; }
.mend-row-figures { display: flex; gap: 8px; font-size: 12px; color: var(--mend-muted); white-space: nowrap; min-width: 0; }
.mend-pct { width: 6.5ch; flex: none; text-align: right; font-size: 12px; }
.mend-bytes { min-width: 15ch; flex: none; }
.mend-rate { width: 9.5ch; flex: none; }
.mend-eta { flex: none; }
.mend-row-message, .mend-texts { font-size: 12px; color: var(--mend-muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.mend-job .mend-row-state { flex: none; font-size: 12px; }
.mend-job { height: auto; min-height: 88px; grid-template-rows: 22px 6px 18px auto; }
.mend-job.mend-foreign .mend-row-label { font-weight: 400; font-style: italic; }
.mend-job.mend-foreign { opacity: .8; }
.mend-switch { display: inline-flex; align-items: center; gap: 4px; font-size: 12px; color: var(--mend-muted); cursor: pointer; }
.mend-empty { font-size: 12px; color: var(--mend-muted); }
.mend-texts { white-space: normal; max-height: 48px; }
.mend-text { display: flex; gap: 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.mend-text-node { color: var(--mend-muted); flex: none; }
.mend-text-body { color: var(--mend-fg); overflow: hidden; text-overflow: ellipsis; }
.mend-bar { position: relative; height: 6px; border-radius: 3px; background: var(--mend-border); overflow: hidden; }
.mend-bar-fill { position: absolute; inset: 0 auto 0 0; width: 0; background: var(--mend-accent); transition: width .2s linear; }
.mend-bar[data-state="succeeded"] .mend-bar-fill, .mend-bar[data-state="success"] .mend-bar-fill,
.mend-bar[data-state="done"] .mend-bar-fill { background: var(--mend-ok); }
.mend-bar[data-state="failed"] .mend-bar-fill, .mend-bar[data-state="error"] .mend-bar-fill { background: var(--mend-bad); }
.mend-bar.mend-indeterminate .mend-bar-fill { width: 30%; animation: mend-slide 1.2s ease-in-out infinite; }
@keyframes mend-slide { from { left: -30%; } to { left: 100%; } }
@media (prefers-reduced-motion: reduce) {
  .mend-bar-fill { transition: none; }
  .mend-bar.mend-indeterminate .mend-bar-fill { animation: none; width: 100%; opacity: .4; }
}
.mend-dialog {
  position: fixed; right: 16px; top: 56px; bottom: 16px; width: min(440px, calc(100vw - 32px)); z-index: 1000;
  border: 1px solid var(--border-color, #4e4e4e); border-radius: 8px; box-shadow: 0 8px 24px rgba(0,0,0,.4); overflow: hidden;
}
.mend-dialog[hidden] { display: none; }
.mend-dialog-close { position: absolute; top: 8px; right: 8px; z-index: 1; }
.mend-own-toast {
  position: fixed; right: 16px; bottom: 56px; z-index: 1100; display: flex; gap: 10px; align-items: center;
  max-width: min(420px, calc(100vw - 32px)); padding: 10px 12px; border-radius: 8px;
  border: 1px solid var(--border-color, #4e4e4e); background: var(--comfy-menu-bg, #353535); color: var(--fg-color, #ddd);
  box-shadow: 0 8px 24px rgba(0,0,0,.4); font-size: 13px;
}
.mend-own-toast[hidden] { display: none; }
.mend-own-toast .mend-toast-text { flex: 1; min-width: 0; }
`;

/** Add the stylesheet to `doc` once. */
export function installStyles(doc) {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement("style");
  style.id = STYLE_ID;
  style.textContent = CSS;
  doc.head.append(style);
}
