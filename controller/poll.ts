// Waiting for something outside our control (Traefik's API, a container's health) to come
// true: tries at a fixed pace until a deadline on the Clock port, so tests drive time and a
// signal cuts the wait short. Deadline-bound rather than count-bound, since what limits a
// wait is the step's timeout, not a number of tries.
import { AbortedError } from "./errors.js";
import type { Clock } from "./ports.js";

export interface PollOptions {
  /** Pause between tries, cut short so the last try falls on the deadline. Default 100. */
  everyMs?: number;
  /** What to throw when `signal` has aborted before a try. Default: an AbortedError. */
  aborted?: () => Error;
}

/**
 * Calls `fn` until it returns something other than undefined, and returns that; returns
 * undefined once `deadline` (on `clock`) has passed after a try, for the caller, which
 * knows what it waited for, to report. `fn` runs at least once. Errors from `fn` end the
 * wait: a try that may fail for a while (Traefik restarting) catches its own errors.
 */
export async function pollUntil<T>(
  deadline: number,
  clock: Clock,
  signal: AbortSignal,
  fn: () => Promise<T | undefined>,
  opts: PollOptions = {},
): Promise<T | undefined> {
  const every = opts.everyMs ?? 100;
  for (;;) {
    if (signal.aborted) throw opts.aborted ? opts.aborted() : new AbortedError("interrupted while waiting");
    const got = await fn();
    if (got !== undefined) return got;
    const left = deadline - clock.now();
    if (left <= 0) return undefined;
    await clock.sleep(Math.min(every, left), signal);
  }
}
