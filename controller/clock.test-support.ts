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
