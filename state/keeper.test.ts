import { describe, expect, it } from "vitest";
import { ManualClock } from "../controller/clock.test-support.js";
import { LockLostError } from "../controller/errors.js";
import type { Lock, LockInfo } from "../controller/ports.js";
import { keepLease } from "./keeper.js";

const svc = { project: "shop", service: "web" };
const info = { since: "2026-01-01T12:00:00.000Z" } as LockInfo;
const LEASE = 60_000;

function fakeLock(renew: () => Promise<boolean>): Lock & { renewals: number } {
  const l = {
    renewals: 0,
    acquire: async () => ({ acquired: true as const }),
    read: async () => undefined,
    release: async () => {},
    renew: async () => {
      l.renewals++;
      return renew();
    },
  };
  return l;
}

function start(lock: Lock, clock: ManualClock) {
  const said: string[] = [];
  const k = keepLease({ lock, svc, info, leaseMs: LEASE, clock, say: (l) => said.push(l) });
  return { k, said };
}

describe("keepLease", () => {
  it("renews every lease/6 and never aborts a live holder, however long the rollout", async () => {
    const clock = new ManualClock();
    const lock = fakeLock(async () => true);
    const { k } = start(lock, clock);
    await clock.advance(3_600_000, 10_000);
    expect(lock.renewals).toBe(360);
    expect(k.signal.aborted).toBe(false);
    await k.stop();
    await clock.advance(60_000);
    expect(lock.renewals).toBe(360);
  });

  it("aborts at once when the lock is no longer ours", async () => {
    const clock = new ManualClock();
    const { k, said } = start(
      fakeLock(async () => false),
      clock,
    );
    await clock.advance(10_000);
    expect(k.signal.aborted).toBe(true);
    expect(k.signal.reason).toBeInstanceOf(LockLostError);
    expect(said.join("\n")).toMatch(/lost the lock: it was released or taken over/);
    await k.stop();
  });

  it("partitioned: keeps trying, and aborts once renewals failed for half a lease, before anyone may break it", async () => {
    const clock = new ManualClock();
    let up = true;
    const lock = fakeLock(async () => {
      if (!up) throw new Error("connect ECONNREFUSED");
      return true;
    });
    const { k, said } = start(lock, clock);
    await clock.advance(20_000); // renewed at 10s and 20s
    up = false;
    await clock.advance(20_000);
    expect(k.signal.aborted).toBe(false); // 20s since the last good renewal: not yet
    await clock.advance(10_000);
    // Aborted at 30s (lease/2) after the last renewal that reached the host, 30s before the
    // lease could run out for a waiter.
    expect(k.signal.aborted).toBe(true);
    expect(String(k.signal.reason.message)).toMatch(/its 60s lease could not be renewed for 30s/);
    expect(said[0]).toMatch(/could not renew the lock lease \(connect ECONNREFUSED\); retrying/);
    // Lost is lost: no restore follows, so there is nothing to renew for any more.
    up = true;
    const before = lock.renewals;
    await clock.advance(20_000);
    expect(lock.renewals).toBe(before);
    await k.stop();
  });

  it("a renewal that never answers counts as failed at its deadline: the rollout stops by lease/2 + lease/8", async () => {
    const clock = new ManualClock();
    const lock = fakeLock(() => new Promise<boolean>(() => {}));
    const abandoned: Error[] = [];
    lock.abandon = (_svc, why) => abandoned.push(why);
    const { k, said } = start(lock, clock);
    await clock.advance(17_000); // the first renewal went out at 10s and hangs
    expect(said).toEqual([]);
    await clock.advance(1000); // its 7.5s deadline passed
    expect(said).toEqual([expect.stringMatching(/did not answer a lease renewal within 8s\); retrying/)]);
    await clock.advance(16_000);
    expect(k.signal.aborted).toBe(false);
    await clock.advance(2000); // past lease/2 since the last good renewal, and the renewal in flight timed out again
    expect(k.signal.aborted).toBe(true);
    expect(k.signal.reason).toBeInstanceOf(LockLostError);
    expect(k.signal.reason.message).toMatch(/could not be renewed for 3\ds .*held now by unknown/);
    expect(abandoned).toEqual([k.signal.reason]);
    expect(lock.renewals).toBe(1); // never a second renewal piled on the hung one
    await k.stop();
  });

  it("names who holds the lock now when another run took it over", async () => {
    const clock = new ManualClock();
    const lock = fakeLock(async () => false);
    lock.read = async () =>
      ({
        by: { user: "ci", host: "runner-2", pid: 7 },
        since: "2026-01-01T12:05:00.000Z",
        command: "roll --image app:v3",
      }) as LockInfo;
    const { k } = start(lock, clock);
    await clock.advance(10_000);
    expect(k.lost()?.message).toMatch(
      /it is held now by ci@runner-2 \(pid 7\) since 2026-01-01T12:05:00.000Z, `roll --image app:v3`/,
    );
    expect(k.lost()?.hint).toMatch(/compose-roll status/);
    await k.stop();
  });

  it("fence: compares the lock's token before a step; after a gap in the renewals, renews first", async () => {
    const clock = new ManualClock();
    const lock = fakeLock(async () => true);
    let ours = true;
    const holds: number[] = [];
    lock.holds = async () => {
      holds.push(clock.t);
      return ours;
    };
    const { k } = start(lock, clock);
    await k.fence();
    expect([holds, lock.renewals]).toEqual([[0], 0]);
    // The process was cut off (or suspended) for a whole lease: the token alone is not enough,
    // a waiter could break the lock right after the check.
    clock.t += LEASE;
    await k.fence();
    expect([holds, lock.renewals]).toEqual([[0], 1]);
    ours = false;
    await expect(k.fence()).rejects.toBeInstanceOf(LockLostError);
    await expect(k.fence()).rejects.toBeInstanceOf(LockLostError);
    await k.stop();
  });

  it("a blip shorter than half a lease costs nothing", async () => {
    const clock = new ManualClock();
    let fail = 2;
    const { k, said } = start(
      fakeLock(async () => {
        if (fail-- > 0) throw new Error("socket hang up");
        return true;
      }),
      clock,
    );
    await clock.advance(120_000);
    expect(k.signal.aborted).toBe(false);
    expect(said).toEqual([expect.stringMatching(/retrying/), "lock lease renewed again"]);
    await k.stop();
  });
});
