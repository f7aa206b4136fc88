// compose-roll's lock and history kept in the Swarm's own store (state/swarm-*.ts), against the
// real 3-manager testbed: two runners on two managers, a lease renewed with a version check, a
// forced break noticed by the old holder, a silent runner elsewhere stale only once its lease ran
// out on the managers' clock, records that survive `docker system prune` everywhere.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineError, LockLostError } from "../../controller/errors.js";
import type { LockInfo } from "../../controller/ports.js";
import { systemClock } from "../../engine/index.js";
import { lockInfo, revision } from "../../state/fake-swarm.test-support.js";
import { keepLease } from "../../state/keeper.js";
import { isStale } from "../../state/stale.js";
import { SwarmHistory } from "../../state/swarm-history.js";
import { SwarmLock } from "../../state/swarm-lock.js";
import { dockerOn, type Testbed, testbedEnv } from "../support/swarm.js";

let tb: Testbed;
const svc = { project: "crsw-state", service: `web${process.pid}` };
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const manager = (n: number) => new Docker({ socketPath: tb.sockets[n - 1] as string });

async function configs(): Promise<string[]> {
  const out = await dockerOn(tb, 1, [
    "config",
    "ls",
    "--format",
    "{{.Name}}",
    "--filter",
    `label=com.compose-roll.service=${svc.service}`,
  ]);
  return out.split("\n").filter(Boolean).sort();
}

beforeAll(async () => {
  tb = await testbedEnv();
});

afterAll(async () => {
  for (const name of await configs().catch(() => []))
    await dockerOn(tb, 1, ["config", "rm", name]).catch(() => "");
});

describe("the lock in Swarm configs", () => {
  it("lets exactly one of two runners on two managers take it; the other reads the holder", async () => {
    const a = new SwarmLock({ docker: manager(2) });
    const b = new SwarmLock({ docker: manager(3) });
    const [ra, rb] = await Promise.all([
      a.acquire(svc, lockInfo(101, "runner-a")),
      b.acquire(svc, lockInfo(202, "runner-b")),
    ]);
    expect([ra.acquired, rb.acquired].filter(Boolean)).toHaveLength(1);
    const [winner, loser, lost, wonBy] = ra.acquired ? [a, b, rb, 101] : [b, a, ra, 202];
    if (lost.acquired) throw new Error("both acquired");
    expect(lost.holder.by.pid).toBe(wonBy);
    expect(await winner.holds(svc)).toBe(true);
    expect(await loser.holds(svc)).toBe(false);
    await winner.release(svc, lockInfo(wonBy, wonBy === 101 ? "runner-a" : "runner-b"));
    expect(await new SwarmLock({ docker: manager(1) }).read(svc)).toBeUndefined();
  });

  it("renews its lease with a version check; a forced break is noticed by the old holder", async () => {
    const a = new SwarmLock({ docker: manager(1) });
    const mine = lockInfo(303, "runner-a");
    expect(await a.acquire(svc, mine)).toEqual({ acquired: true });
    await new Promise((r) => setTimeout(r, 1500));
    const before = (await a.read(svc))?.renewedAgoMs ?? 0;
    expect(await a.renew(svc, mine)).toBe(true);
    const after = (await a.read(svc))?.renewedAgoMs ?? Number.POSITIVE_INFINITY;
    expect(after).toBeLessThan(before); // the manager stamped the renewal

    // Survives pruning every node's containers, images and volumes (what `docker system prune
    // -a --volumes` removes, but the testbed's own overlay network): configs live in the Raft store.
    for (let n = 1; n <= 3; n++) {
      for (const args of [
        ["container", "prune", "-f"],
        ["image", "prune", "-af"],
        ["volume", "prune", "-f"],
      ]) {
        await dockerOn(tb, n, args);
      }
    }
    expect((await a.read(svc))?.by.pid).toBe(303);

    const breaker = new SwarmLock({ docker: manager(3) });
    await breaker.release(svc); // `lock release`: forced
    expect(await breaker.acquire(svc, lockInfo(404, "runner-b"))).toEqual({ acquired: true });
    expect(await a.holds(svc)).toBe(false);
    expect(await a.renew(svc, mine)).toBe(false);
    await a.release(svc, mine); // not its lock any more: left alone
    expect((await breaker.read(svc))?.by.pid).toBe(404);
    await breaker.release(svc, lockInfo(404, "runner-b"));
    expect(await configs()).toEqual([]);
  });
});

describe("the lease of a runner on another machine (another host name: no pid check applies)", () => {
  it("renewing, it is never stale; silent, it is stale one lease after its last renewal; back, it has lost the lock", async () => {
    const lease = 6000;
    const a = new SwarmLock({ docker: manager(2) });
    const mine = { ...lockInfo(505, "crsw-state-elsewhere"), leaseMs: lease };
    expect(await a.acquire(svc, mine)).toEqual({ acquired: true });
    const keeping = keepLease({
      lock: a,
      svc,
      info: mine,
      leaseMs: lease,
      clock: systemClock,
      say: () => {},
    });
    const b = new SwarmLock({ docker: manager(3) });
    const seen = async () => {
      const holder = (await b.read(svc)) as LockInfo;
      const self = { user: "ci", host: "crsw-state-here", pid: 606 };
      return isStale(holder, { self, now: new Date(), alive: () => true, staleAfterMs: 60_000 });
    };
    // Longer than the lease, renewed every lease/6 by the managers' clock: never stale.
    for (let i = 0; i < 4; i++) {
      await sleep(2500);
      expect(await seen()).toMatchObject({ stale: false });
    }
    expect(keeping.lost()).toBeUndefined();
    await keeping.stop(); // runner A's machine froze: no renewal from now on
    await sleep(lease / 2);
    expect(await seen()).toMatchObject({ stale: false });
    await sleep(lease / 2 + 1500);
    const gone = await seen();
    expect(gone.stale, gone.why).toBe(true);
    expect(gone.why).toMatch(/on another host, last renewed its 6s lease \d+s ago/);
    // Runner B takes over, as repair does.
    const holder = (await b.read(svc)) as LockInfo;
    await b.release(svc, holder);
    const theirs = lockInfo(606, "crsw-state-here");
    expect(await b.acquire(svc, theirs)).toEqual({ acquired: true });
    // Runner A is back: its next fence finds the lock is not its own, and it stops.
    const back = keepLease({ lock: a, svc, info: mine, leaseMs: lease, clock: systemClock, say: () => {} });
    await expect(back.fence()).rejects.toBeInstanceOf(LockLostError);
    await back.stop();
    expect((await b.read(svc))?.by.host).toBe("crsw-state-here");
    await b.release(svc, theirs);
    expect(await configs()).toEqual([]);
  });
});

describe("the history in Swarm configs", () => {
  it("records, lists through any manager newest first, prunes beyond keep, refuses a taken number", async () => {
    const h = new SwarmHistory({ docker: manager(2) });
    for (let n = 1; n <= 5; n++) await h.record(svc, revision(n), 3);
    const list = await new SwarmHistory({ docker: manager(3) }).list(svc);
    expect(list.map((r) => r.number)).toEqual([5, 4, 3]);
    expect(list[0]).toEqual(revision(5));
    await expect(h.record(svc, revision(5), 3)).rejects.toBeInstanceOf(EngineError);
    expect(await configs()).toEqual(
      [3, 4, 5].map((n) => `compose-roll-rev.${svc.project}.${svc.service}.${n}`),
    );
  });
});
