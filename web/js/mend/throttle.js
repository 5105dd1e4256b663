/**
 * Throttled rendering: many state changes a second (progress events from several downloads, a
 * sampler's step events) become at most one render per interval, and the last change is always
 * rendered (a trailing call), so a finished task never stays drawn at 99%.
 *
 * The clock and timers are injected, so tests drive them without a browser or real time:
 *
 *     const s = createScheduler(render, { interval: 100 });
 *     s.request();  // renders now (nothing rendered recently)
 *     s.request();  // within 100 ms: one render is scheduled for the end of the interval
 *     s.flush();    // render now if something is pending (e.g. before a screenshot)
 */

export function createScheduler(render, options = {}) {
  const interval = options.interval ?? 100;
  const now = options.now ?? (() => Date.now());
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((id) => clearTimeout(id));
  let last = -Infinity;
  let timer = null;
  let pending = false;
  let disposed = false;

  function run() {
    timer = null;
    if (!pending || disposed) return;
    pending = false;
    last = now();
    render();
  }

  return {
    /** Ask for a render; it happens now or at the end of the current interval, once. */
    request() {
      if (disposed) return;
      pending = true;
      if (timer !== null) return;
      const wait = last + interval - now();
      if (wait <= 0) run();
      else timer = setTimer(run, wait);
    },
    /** Render at once if a render is pending. */
    flush() {
      if (timer !== null) {
        clearTimer(timer);
        timer = null;
      }
      run();
    },
    /** Is a render waiting? */
    get pending() {
      return pending;
    },
    dispose() {
      disposed = true;
      if (timer !== null) clearTimer(timer);
      timer = null;
    },
  };
}

/**
 * A smoothed transfer rate from (bytes done, time) samples: an exponential moving average, so the
 * rate and ETA do not flicker with every chunk. Returns a new state; never mutates.
 *
 *     let r = rateSample(null, 0, 0);
 *     r = rateSample(r, 1_000_000, 1000);   // r.rate === 1_000_000 (bytes per second)
 */
export function rateSample(prev, done, timeMs, halfLifeMs = 2000) {
  if (!prev || done < prev.done || timeMs <= prev.time) {
    return { done, time: timeMs, rate: prev && done >= prev.done ? prev.rate : null };
  }
  const dt = timeMs - prev.time;
  const instant = ((done - prev.done) * 1000) / dt;
  if (prev.rate === null || prev.rate === undefined) return { done, time: timeMs, rate: instant };
  const keep = Math.pow(0.5, dt / halfLifeMs);
  return { done, time: timeMs, rate: prev.rate * keep + instant * (1 - keep) };
}
