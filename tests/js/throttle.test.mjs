// Throttled rendering and the smoothed rate (web/js/mend/throttle.js), on a fake clock.
import test from "node:test";
import assert from "node:assert/strict";
import { createScheduler, rateSample } from "../../web/js/mend/throttle.js";

function fakeClock() {
  let t = 0;
  const timers = new Map();
  let next = 1;
  return {
    now: () => t,
    setTimer: (fn, ms) => (timers.set(next, { fn, at: t + ms }), next++),
    clearTimer: (id) => timers.delete(id),
    advance(ms) {
      t += ms;
      for (const [id, timer] of [...timers]) if (timer.at <= t) timers.delete(id), timer.fn();
    },
    get pending() {
      return timers.size;
    },
  };
}

test("many requests within an interval render once now and once at its end", () => {
  const clock = fakeClock();
  let renders = 0;
  const s = createScheduler(() => renders++, { interval: 100, ...clock });
  s.request();
  assert.equal(renders, 1); // nothing rendered recently: at once
  for (let i = 0; i < 50; i++) s.request();
  assert.equal(renders, 1);
  assert.equal(clock.pending, 1); // one trailing render scheduled, not fifty
  clock.advance(99);
  assert.equal(renders, 1);
  clock.advance(1);
  assert.equal(renders, 2); // the last state is always drawn
  clock.advance(1000);
  assert.equal(renders, 2); // nothing pending: no extra renders
});

test("a request after a quiet interval renders at once; flush renders a pending one", () => {
  const clock = fakeClock();
  let renders = 0;
  const s = createScheduler(() => renders++, { interval: 100, ...clock });
  s.request();
  clock.advance(500);
  s.request();
  assert.equal(renders, 2);
  s.request();
  assert.equal(s.pending, true);
  s.flush();
  assert.equal(renders, 3);
  assert.equal(clock.pending, 0);
  s.flush();
  assert.equal(renders, 3); // nothing pending: flush does nothing
});

test("dispose stops rendering", () => {
  const clock = fakeClock();
  let renders = 0;
  const s = createScheduler(() => renders++, { interval: 100, ...clock });
  s.request();
  s.request();
  s.dispose();
  clock.advance(200);
  s.request();
  assert.equal(renders, 1);
});

test("the rate is smoothed and restarts when bytes go backwards (a new attempt)", () => {
  let r = rateSample(null, 0, 0);
  assert.equal(r.rate, null);
  r = rateSample(r, 1_000_000, 1000);
  assert.equal(r.rate, 1_000_000);
  r = rateSample(r, 4_000_000, 2000); // 3 MB/s now: moves toward it, not all the way
  assert.ok(r.rate > 1_000_000 && r.rate < 3_000_000, String(r.rate));
  const same = rateSample(r, 4_000_000, 2000); // same timestamp: no division by zero
  assert.equal(same.rate, r.rate);
  const restarted = rateSample(r, 10, 3000);
  assert.equal(restarted.rate, null);
});
