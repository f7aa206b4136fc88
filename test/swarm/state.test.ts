// compose-roll's lock and history kept in the Swarm's own store (state/swarm-*.ts), against the
// real 3-manager testbed: two runners on two managers, a lease renewed with a version check, a
// forced break noticed by the old holder, records that survive `docker system prune` everywhere.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineError } from "../../controller/errors.js";
import { lockInfo, revision } from "../../state/fake-swarm.test-support.js";
import { SwarmHistory } from "../../state/swarm-history.js";
import { SwarmLock } from "../../state/swarm-lock.js";
import { dockerOn, type Testbed, testbedEnv } from "../support/swarm.js";

let tb: Testbed;
const svc = { project: "crsw-state", service: `web${process.pid}` };
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
