/**
 * A busy server is asked again, not a dead end. Each analysis takes one of the server's few analysis
 * places (`POST /mend/analyze`, and the analyses behind a decision and the background search); beyond
 * them it answers 429 with `Retry-After` (core/resolve/analysis_pool.py). The panel waits that long (at
 * least 1 s, at most BUSY_WAIT_CAP_S at a time) and asks again, BUSY_TRIES times in all.
 *
 * `createAnalyses` runs the panel's analyses: while the server is busy it counts down in the state
 * (`analysis/busy`, one action a second, so the panel says "retrying in N s"); `stop()` or a newer
 * analysis ends an older one's waiting. `sleep` is injected so `node --test` needs no clock.
 *
 *     const analyses = createAnalyses({ client, dispatch, getState });
 *     const report = await analyses.analyze(graph, { key, name });   // null if it failed or was stopped
 */

import { analysisErrorText } from "./messages.js";

/** Never wait longer than this for one ask of a busy server, whatever its Retry-After says... */
export const BUSY_WAIT_CAP_S = 30;
/** ...and ask at most this many times in all before saying so (with Retry). */
export const BUSY_TRIES = 10;

export const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds to wait before the next ask: the server's `Retry-After`, at least 1 s, at most `cap`. */
export function busyDelaySeconds(retryAfter, cap = BUSY_WAIT_CAP_S) {
  const asked = Number.isFinite(retryAfter) ? retryAfter : 2;
  return Math.min(cap, Math.max(1, Math.ceil(asked)));
}

/** `call()`, asked again after the server's Retry-After while it answers 429 (BUSY_TRIES times at most). */
export async function unlessBusy(call, sleep = pause) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (error.status !== 429 || attempt >= BUSY_TRIES) throw error;
      await sleep(busyDelaySeconds(error.retryAfter) * 1000);
    }
  }
}

export function createAnalyses({ client, dispatch, getState, sleep = pause }) {
  let run = 0; // counts analyses: a newer one, or stop(), ends an older one's waiting

  return {
    /**
     * Analyse a serialised workflow; resolves to the report, or null when it failed (said in the panel,
     * with Retry) or a newer analysis or stop() took over.
     */
    async analyze(workflow, info) {
      const mine = ++run;
      const current = () => mine === run;
      dispatch({ type: "analysis/start", workflow: info });
      for (let attempt = 1; ; attempt += 1) {
        try {
          const report = await client.analyze(workflow);
          if (!current()) return null;
          dispatch({ type: "analysis/done", workflow: info, report });
          return report;
        } catch (error) {
          if (!current()) return null;
          if (error.status !== 429 || attempt >= BUSY_TRIES) {
            dispatch({ type: "analysis/error", error: analysisErrorText(error), code: error.code ?? null });
            return null;
          }
          for (let left = busyDelaySeconds(error.retryAfter); left > 0; left -= 1) {
            dispatch({ type: "analysis/busy", seconds: left, attempt, tries: BUSY_TRIES });
            await sleep(1000);
            if (!current()) return null;
          }
          dispatch({ type: "analysis/busy", seconds: 0, attempt, tries: BUSY_TRIES }); // asking again now
        }
      }
    },
    /** Stop asking a busy server again: the analysis ends here, with Retry. */
    stop() {
      if (!getState().busy) return;
      run += 1;
      dispatch({ type: "analysis/error", error: "The server was busy; Mend stopped asking. Retry when you like.", code: "stopped" });
    },
  };
}
