// The Swarm lock's lease end to end on fakes: the real SwarmLock (state/swarm-lock.ts) over an
// in-memory config store whose manager clock the test moves, the real keeper (state/keeper.ts),
// the real staleness rule (state/stale.ts), and the rollout and repair on the fake cluster.
// Runner A and runner B are two machines: different host names, so no pid check applies.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../controller/clock.test-support.js";
import { exitCodeFor, LockHeldError, LockLostError } from "../controller/errors.js";
import type { Actor, LockInfo, Revision } from "../controller/ports.js";
import { FakeSwarm as ConfigStore, lockInfo } from "../state/fake-swarm.test-support.js";
import { keepLease } from "../state/keeper.js";
import { isStale } from "../state/stale.js";
import { SwarmLock } from "../state/swarm-lock.js";
import { context, FakeSwarm, L, type Svc } from "./swarm.test-support.js";
import { repairSwarm } from "./swarm-repair.js";
import { rollSwarm, type SwarmRollContext } from "./swarm-roll.js";

const LEASE = 60_000;
const A: Actor = { user: "ci", host: "runner-a", pid: 100 };
const B: Actor = { user: "ci", host: "runner-b", pid: 200 };
const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((ok) => setImmediate(ok));
};

/** One cluster, one config store; `manager` is the managers' clock (it stamps every renewal). */
function world() {
  const f = new FakeSwarm("app:broken");
  const store = new ConfigStore();
  const manager = new ManualClock(true);
  const epoch = store.now;
  Object.defineProperty(store, "now", { get: () => epoch + manager.t });
  return { f, store, manager };
}

/** Runner `who`'s run: its own SwarmLock, a keeper paced by its own clock `runner`. */
function runner(w: ReturnType<typeof world>, who: Actor, runner: ManualClock, records: Revision[]) {
  const lock = new SwarmLock({ docker: w.store.api });
  const said: string[] = [];
  const ctx: SwarmRollContext = {
    ...context(w.f, records),
    say: (l) => said.push(l),
    lock,
    actor: who,
    leaseMs: LEASE,
    keep: (info: LockInfo) =>
      keepLease({ lock, svc: ctx.svc, info, leaseMs: LEASE, clock: runner, say: (l) => said.push(l) }),
    stale: (holder) =>
      isStale(holder, {
        self: who,
        now: new Date(w.store.now),
        alive: () => true,
        staleAfterMs: 30 * 60_000,
      }),
  };
  return { ctx, lock, said };
}

/** A's rollout to v2, held up at its first look at the tasks before the replace (a read, not a change). */
async function heldUp(w: ReturnType<typeof world>, clock: ManualClock, records: Revision[]) {
  const a = runner(w, A, clock, records);
  let resume = () => {};
  let reached = false;
  const gate = new Promise<void>((ok) => {
    resume = ok;
  });
  const cluster = new Proxy(w.f, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (typeof v !== "function") return v;
      return async (...args: unknown[]) => {
        if (prop === "taskIds" && !reached) {
          reached = true;
          await gate;
        }
        return v.apply(target, args);
      };
    },
  });
  const run = rollSwarm({ ...a.ctx, cluster }, "app:v2");
  run.catch(() => {});
  for (let i = 0; i < 100 && !reached; i++) await settle();
  expect(reached).toBe(true);
  return { ...a, run, resume };
}

const versions = (f: FakeSwarm) => JSON.stringify([...f.services].map(([n, s]) => [n, s.version]));

describe("the Swarm lock's lease", () => {
  it("a holder alive and renewing is never broken by a second runner, however long it runs", async () => {
    const w = world();
    const records: Revision[] = [];
    // A's keeper runs on the managers' clock: A is alive and renews every lease/6.
    const a = await heldUp(w, w.manager, records);
    await w.manager.advance(10 * 60_000, 5000);
    const before = versions(w.f);
    const b = runner(w, B, new ManualClock(), []);
    const err = await repairSwarm({ ...b.ctx, stale: b.ctx.stale as never }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect(exitCodeFor(err)).toBe(3);
    expect((err as Error).message).toMatch(
      /still runs \(lock held by ci@runner-a pid 100: on another host, renewed its 60s lease \d+s ago\)/,
    );
    // A rollout by B is refused too: locked (3), not "a killed rollout left stand-ins" (2).
    const locked = await rollSwarm(b.ctx, "app:v3").catch((e: Error) => e);
    expect(exitCodeFor(locked)).toBe(3);
    expect((locked as Error).message).toMatch(
      /shop_web is locked: web --image app:v2 by ci@runner-a pid 100/,
    );
    const holder = (await b.lock.read(b.ctx.svc)) as LockInfo;
    expect(holder.by.host).toBe("runner-a");
    expect(holder.renewedAgoMs).toBeLessThanOrEqual(LEASE / 6);
    expect(versions(w.f)).toBe(before);
    a.resume();
    await expect(a.run).resolves.toMatchObject({ to: "app:v2", revision: 1 });
    expect(records[0]).toMatchObject({ result: "complete" });
    expect(w.store.configs.size).toBe(0);
  });

  it("a holder gone elsewhere is stale only once its lease ran out; repair takes over; back, it stops driving (exit 4, no restore)", async () => {
    const w = world();
    const recordsA: Revision[] = [];
    // A's own clock never moves: its machine froze (or its process was SIGKILLed) mid-rollout.
    const a = await heldUp(w, new ManualClock(), recordsA);
    expect((w.f.services.get("shop_web") as Svc).labels["traefik.enable"]).toBe("false");
    const b = runner(w, B, new ManualClock(), []);
    const repair = () => repairSwarm({ ...b.ctx, stale: b.ctx.stale as never });

    await w.manager.advance(LEASE - 5000, 5000);
    const early = versions(w.f);
    const refused = await repair().catch((e: Error) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as Error).message).toMatch(/on another host, renewed its 60s lease 55s ago/);
    expect(versions(w.f)).toBe(early);

    await w.manager.advance(10_000, 5000);
    const r = await repair();
    expect(b.said.join("\n")).toMatch(
      /taking over the lock of an interrupted web --image app:v2 \(lock held by ci@runner-a pid 100: on another host, last renewed its 60s lease 65s ago\)/,
    );
    expect(r).toMatchObject({ to: "app:v1" });
    expect(w.f.services.get("shop_web")).toMatchObject({ image: "app:v1", labels: L });
    expect([...w.f.services.keys()]).toEqual(["shop_web"]);

    // A new rollout by B holds the lock when A comes back.
    expect(await b.lock.acquire(b.ctx.svc, { ...lockInfo(200, "runner-b"), leaseMs: LEASE })).toEqual({
      acquired: true,
    });
    const after = versions(w.f);
    a.resume();
    const lost = await a.run.catch((e: Error) => e);
    expect(lost).toBeInstanceOf(LockLostError);
    expect(exitCodeFor(lost)).toBe(4);
    expect((lost as Error).message).toMatch(/held now by ci@runner-b/);
    expect(a.said.join("\n")).toMatch(/lost the lock: .*; stopping the rollout, restoring nothing/);
    // Nothing driven, nothing restored, nothing recorded, B's lock left alone.
    expect(versions(w.f)).toBe(after);
    expect(recordsA).toEqual([]);
    expect((await b.lock.read(b.ctx.svc))?.by.host).toBe("runner-b");
  });
});

describe("--wait on a Swarm", () => {
  /** B's clock: each sleep moves it on at once; `onSleep` runs at B's n-th sleep (A finishing). */
  function waiter(w: ReturnType<typeof world>, waitMs: number, onSleep: (n: number) => Promise<void>) {
    const b = runner(w, B, new ManualClock(), []);
    let t = 0;
    let n = 0;
    const clock = {
      now: () => t,
      sleep: async (ms: number) => {
        t += ms;
        await onSleep(++n);
      },
    };
    return { ...b, ctx: { ...b.ctx, clock, waitMs } };
  }

  it("a second rollout waits for a live holder, then rolls from where that one left the service", async () => {
    const w = world();
    const records: Revision[] = [];
    const a = await heldUp(w, w.manager, records);
    const b = waiter(w, 10 * 60_000, async (n) => {
      if (n !== 3) return;
      a.resume();
      await a.run;
    });
    b.ctx.history = { ...b.ctx.history, list: async () => records };
    const r = await rollSwarm(b.ctx, "app:v3");
    expect(b.said.filter((l) => l.startsWith("waiting for the lock"))).toEqual([
      expect.stringMatching(/^waiting for the lock: web --image app:v2 by ci@runner-a pid 100 since /),
    ]);
    // From A's release, not from what the service ran when B first looked.
    expect(r).toMatchObject({ from: "app:v2", to: "app:v3" });
    expect(w.f.services.get("shop_web")).toMatchObject({ image: "app:v3", labels: L });
    expect(w.store.configs.size).toBe(0);
  });

  it("a second rollout of the same image finds it done once the holder finishes", async () => {
    const w = world();
    const a = await heldUp(w, w.manager, []);
    const b = waiter(w, 10 * 60_000, async (n) => {
      if (n !== 2) return;
      a.resume();
      await a.run;
    });
    const r = await rollSwarm(b.ctx, "app:v2");
    expect(r).toMatchObject({ unchanged: true, to: "app:v2" });
  });

  it("gives up at the end of --wait: exit 3 naming the holder, nothing changed", async () => {
    const w = world();
    const a = await heldUp(w, w.manager, []);
    const before = versions(w.f);
    let sleeps = 0;
    const b = waiter(w, 5000, async () => {
      sleeps++;
    });
    const err = await rollSwarm(b.ctx, "app:v3").catch((e: Error) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect(exitCodeFor(err)).toBe(3);
    expect((err as Error).message).toMatch(
      /shop_web is locked: web --image app:v2 by ci@runner-a .*\(waited 5 s\)/,
    );
    expect(sleeps).toBe(5);
    expect(versions(w.f)).toBe(before);
    a.resume();
    await a.run;
  });
});
