import { describe, expect, it } from "vitest";
import { fakeClock } from "./clock.test-support.js";
import { AbortedError, RoutingError } from "./errors.js";
import { pollUntil } from "./poll.js";
import type { Clock } from "./ports.js";

const never = new AbortController().signal;

/** A try that answers `value` on its n-th call (undefined before), counting its calls. */
function nthTry<T>(n: number, value: T) {
  const f = async () => {
    f.calls++;
    return f.calls >= n ? value : undefined;
  };
  f.calls = 0;
  return f;
}

describe("pollUntil", () => {
  it("returns what the n-th try found, sleeping the pace between tries", async () => {
    const clock = fakeClock(1000);
    const fn = nthTry(3, "found");
    expect(await pollUntil(clock.now() + 5000, clock, never, fn)).toBe("found");
    expect(fn.calls).toBe(3);
    expect(clock.slept).toEqual([100, 100]);
  });

  it("keeps a falsy answer: only undefined means not yet", async () => {
    const clock = fakeClock(1000);
    expect(await pollUntil(clock.now() + 5000, clock, never, nthTry(2, false))).toBe(false);
    expect(await pollUntil(clock.now() + 5000, clock, never, nthTry(1, 0))).toBe(0);
  });

  it("gives up with undefined once the deadline has passed, the last pause cut to land on it", async () => {
    const clock = fakeClock(1000);
    const fn = nthTry(Number.POSITIVE_INFINITY, "never");
    expect(await pollUntil(clock.now() + 250, clock, never, fn, { everyMs: 100 })).toBeUndefined();
    expect(clock.slept).toEqual([100, 100, 50]);
    expect(fn.calls).toBe(4); // at 0, 100, 200 and on the deadline
  });

  it("tries once even when the deadline has already passed", async () => {
    const clock = fakeClock(1000);
    const fn = nthTry(Number.POSITIVE_INFINITY, "never");
    expect(await pollUntil(clock.now() - 1, clock, never, fn)).toBeUndefined();
    expect(fn.calls).toBe(1);
    expect(clock.slept).toEqual([]);
  });

  it("paces by everyMs", async () => {
    const clock = fakeClock(1000);
    await pollUntil(clock.now() + 5000, clock, never, nthTry(3, true), { everyMs: 700 });
    expect(clock.slept).toEqual([700, 700]);
  });

  it("throws AbortedError without trying when the signal has already aborted", async () => {
    const ac = new AbortController();
    ac.abort();
    const clock = fakeClock(1000);
    const fn = nthTry(1, "x");
    await expect(pollUntil(clock.now() + 5000, clock, ac.signal, fn)).rejects.toBeInstanceOf(AbortedError);
    expect(fn.calls).toBe(0);
  });

  it("stops before the next try once the signal aborts, with the caller's error", async () => {
    const ac = new AbortController();
    const clock = fakeClock(0, () => ac.abort());
    const fn = nthTry(Number.POSITIVE_INFINITY, "never");
    const err = await pollUntil(clock.now() + 5000, clock, ac.signal, fn, {
      aborted: () => new AbortedError("interrupted while waiting for Traefik"),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).message).toBe("interrupted while waiting for Traefik");
    expect(fn.calls).toBe(1);
  });

  it("passes the signal to the clock, whose sleep may end the wait itself", async () => {
    const ac = new AbortController();
    const seen: AbortSignal[] = [];
    const clock: Clock = {
      now: () => 0,
      sleep: async (_ms, signal) => {
        seen.push(signal);
        throw new AbortedError("sleep cut short");
      },
    };
    await expect(pollUntil(5000, clock, ac.signal, nthTry(2, "x"))).rejects.toThrow("sleep cut short");
    expect(seen).toEqual([ac.signal]);
  });

  it("ends at the first error a try throws, without retrying it", async () => {
    const clock = fakeClock(1000);
    let calls = 0;
    const fn = async () => {
      calls++;
      throw new RoutingError("disabled");
    };
    await expect(pollUntil(clock.now() + 5000, clock, never, fn)).rejects.toBeInstanceOf(RoutingError);
    expect(calls).toBe(1);
    expect(clock.slept).toEqual([]);
  });
});
