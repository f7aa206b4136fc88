// A Clock for unit tests of waits: time passes only when the code under test sleeps, so a
// test runs in no time and can assert every pause it took.
import type { Clock } from "./ports.js";

/** Starts at `start`; `onSleep` runs after each sleep (to change the world meanwhile). */
export function fakeClock(start = 0, onSleep?: () => void): Clock & { slept: number[] } {
  let t = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
      onSleep?.();
    },
  };
}

/** A clock the test drives: sleeps end only when the test advances time past them. */
export class ManualClock implements Clock {
  t = 0;
  /** Also lets callbacks queued behind I/O-like awaits run between steps (a fake engine's calls). */
  constructor(private readonly settle = false) {}
  private timers: { at: number; done: () => void }[] = [];
  now() {
    return this.t;
  }
  sleep(ms: number, signal: AbortSignal) {
    return new Promise<void>((ok, fail) => {
      const timer = { at: this.t + ms, done: ok };
      this.timers.push(timer);
      signal.addEventListener("abort", () => fail(signal.reason), { once: true });
    });
  }
  /** Moves time on in steps of `step`, letting every woken renewal finish in between. */
  async advance(ms: number, step = 1000) {
    for (const end = this.t + ms; this.t < end; ) {
      this.t += step;
      const due = this.timers.filter((x) => x.at <= this.t);
      this.timers = this.timers.filter((x) => x.at > this.t);
      for (const x of due) x.done();
      for (let i = 0; i < 20; i++) await Promise.resolve();
      if (this.settle) await new Promise((ok) => setImmediate(ok));
    }
  }
}
