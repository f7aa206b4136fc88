// The Swarm-config lock and history on an in-memory config store (fake-swarm.test-support.ts);
// test/swarm/state.test.ts runs the same adapters against a real 3-manager Swarm.
import { describe, expect, it } from "vitest";
import { EngineError, LockHeldError } from "../controller/errors.js";
import { FakeSwarm, lockInfo, revision } from "./fake-swarm.test-support.js";
import { LockLabel } from "./labels.js";
import { SwarmHistory } from "./swarm-history.js";
import { SwarmLock } from "./swarm-lock.js";

const svc = { project: "shop", service: "web" };

describe("SwarmLock", () => {
  it("is taken by one runner; the second reads the holder, with the lease age on the manager's clock", async () => {
    const swarm = new FakeSwarm();
    const a = new SwarmLock({ docker: swarm.api });
    const b = new SwarmLock({ docker: swarm.api });
    expect(await a.acquire(svc, lockInfo(1))).toEqual({ acquired: true });
    swarm.now += 7000;
    const second = await b.acquire(svc, lockInfo(2, "runner-2"));
    expect(second).toEqual({ acquired: false, holder: { ...lockInfo(1), renewedAgoMs: 7000 } });
    expect([...swarm.configs.values()].map((c) => c.Spec.Name)).toEqual(["compose-roll-lock.shop.web"]);
  });

  it("renews at the version it read, moving the manager's UpdatedAt; a stale version is retried", async () => {
    const swarm = new FakeSwarm();
    const a = new SwarmLock({ docker: swarm.api });
    await a.acquire(svc, lockInfo(1));
    swarm.now += 20_000;
    let raced = false;
    swarm.beforeUpdate = () => {
      // Someone touches the config between our read and our update, once.
      if (raced) return;
      raced = true;
      const c = [...swarm.configs.values()][0];
      if (c) c.Version.Index += 1;
    };
    expect(await a.renew(svc, lockInfo(1))).toBe(true);
    expect((await a.read(svc))?.renewedAgoMs).toBe(0);
    expect(await a.holds(svc)).toBe(true);
  });

  it("after a forced break and a new take, the old holder neither holds, renews nor releases it", async () => {
    const swarm = new FakeSwarm();
    const a = new SwarmLock({ docker: swarm.api });
    const b = new SwarmLock({ docker: swarm.api });
    await a.acquire(svc, lockInfo(1));
    await b.release(svc);
    expect(await b.acquire(svc, lockInfo(2, "runner-2"))).toEqual({ acquired: true });
    expect(await a.holds(svc)).toBe(false);
    expect(await a.renew(svc, lockInfo(1))).toBe(false);
    await a.release(svc, lockInfo(1));
    expect((await b.read(svc))?.by.pid).toBe(2);
    await b.release(svc, lockInfo(2, "runner-2"));
    expect(swarm.configs.size).toBe(0);
  });

  it("is taken through a leader election: a create that found no leader but was applied is its own", async () => {
    const swarm = new FakeSwarm();
    const a = new SwarmLock({ docker: swarm.api });
    swarm.leaderless(2, true);
    expect(await a.acquire(svc, lockInfo(1))).toEqual({ acquired: true });
    expect(await a.holds(svc)).toBe(true);
    expect([...swarm.configs.values()].map((c) => c.Spec.Name)).toEqual(["compose-roll-lock.shop.web"]);
  });

  it("through an election, a create that was not applied finds the real holder, not itself", async () => {
    const swarm = new FakeSwarm();
    const a = new SwarmLock({ docker: swarm.api });
    const b = new SwarmLock({ docker: swarm.api });
    await a.acquire(svc, lockInfo(1));
    swarm.leaderless(1);
    const second = await b.acquire(svc, lockInfo(2, "runner-2"));
    expect(second).toMatchObject({ acquired: false, holder: { by: { pid: 1 } } });
  });

  it("renews through an election whose update was applied: the retry at the old version reads as moved, and the next succeeds", async () => {
    const swarm = new FakeSwarm();
    const a = new SwarmLock({ docker: swarm.api });
    await a.acquire(svc, lockInfo(1));
    swarm.now += 5000;
    let once = false;
    swarm.beforeUpdate = () => {
      if (once) return;
      once = true;
      swarm.leaderless(1, true);
    };
    expect(await a.renew(svc, lockInfo(1))).toBe(true);
    expect((await a.read(svc))?.renewedAgoMs).toBe(0);
    expect(await a.holds(svc)).toBe(true);
  });

  it("refuses to guess when the lock's labels cannot be read: held, damaged reported", async () => {
    const swarm = new FakeSwarm();
    const damaged: string[] = [];
    const a = new SwarmLock({ docker: swarm.api, onDamaged: (n) => damaged.push(n) });
    await a.acquire(svc, lockInfo(1));
    const c = [...swarm.configs.values()][0];
    if (c) c.Spec.Labels[LockLabel.revision] = "x";
    await expect(new SwarmLock({ docker: swarm.api }).read(svc)).rejects.toBeInstanceOf(LockHeldError);
    await expect(a.acquire(svc, lockInfo(3))).rejects.toBeInstanceOf(LockHeldError);
    expect(damaged).toEqual(["compose-roll-lock.shop.web"]);
  });
});

describe("SwarmHistory", () => {
  it("lists newest first and prunes beyond keep, never what undo needs (the newest complete and its previous)", async () => {
    const swarm = new FakeSwarm();
    const h = new SwarmHistory({ docker: swarm.api });
    for (let n = 1; n <= 4; n++) await h.record(svc, revision(n), 2);
    expect((await h.list(svc)).map((r) => r.number)).toEqual([4, 3]);
    await h.record(svc, revision(5, "rolled-back"), 2);
    expect((await h.list(svc)).map((r) => r.number)).toEqual([5, 4, 3]);
    await h.record(svc, { ...revision(6, "failed"), previous: 4 }, 1);
    expect((await h.list(svc)).map((r) => r.number)).toEqual([6, 4, 3]);
  });

  it("lists and records through an election; a record whose create was applied is recorded once", async () => {
    const swarm = new FakeSwarm();
    const h = new SwarmHistory({ docker: swarm.api });
    await h.record(svc, revision(1), 10);
    swarm.leaderless(2);
    expect((await h.list(svc)).map((r) => r.number)).toEqual([1]);
    swarm.leaderless(1, true);
    await h.record(svc, revision(2), 10);
    expect((await h.list(svc)).map((r) => r.number)).toEqual([2, 1]);
  });

  it("refuses a taken number and skips a record whose name does not match its labels", async () => {
    const swarm = new FakeSwarm();
    const damaged: string[] = [];
    const h = new SwarmHistory({ docker: swarm.api, onDamaged: (n) => damaged.push(n) });
    await h.record(svc, revision(1), 10);
    await expect(h.record(svc, revision(1), 10)).rejects.toBeInstanceOf(EngineError);
    const c = [...swarm.configs.values()][0];
    if (c) c.Spec.Name = "compose-roll-rev.shop.web.9";
    expect(await h.list(svc)).toEqual([]);
    expect(damaged).toEqual(["compose-roll-rev.shop.web.9"]);
  });
});
