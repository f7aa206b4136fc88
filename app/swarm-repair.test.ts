// `repair` on a Swarm after a rollout killed in each phase, on the fakes of app/swarm.test-support.ts:
// the killed run is cut off right after one call to the cluster (it never runs another, as after
// SIGKILL), then repair runs against what it left. Its fake Traefik never lists fewer servers
// than the service's N, and the cluster refuses to stop what Traefik lists.
import { describe, expect, it } from "vitest";
import { LockHeldError, RefusedError } from "../controller/errors.js";
import type { Lock, LockInfo, Revision } from "../controller/ports.js";
import { context, FakeSwarm, L, type Svc } from "./swarm.test-support.js";
import { planRepairSwarm } from "./swarm-dryrun.js";
import { repairSwarm } from "./swarm-repair.js";
import { rollSwarm, type SwarmRollContext } from "./swarm-roll.js";

const hang = new Promise<never>(() => {});

/** One lock in memory, shared by the killed run and the repair. */
function memLock(): Lock & { holder?: LockInfo } {
  const lock: Lock & { holder?: LockInfo } = {
    acquire: async (_, info) => {
      if (lock.holder) return { acquired: false, holder: lock.holder };
      lock.holder = info;
      return { acquired: true };
    },
    read: async () => lock.holder,
    renew: async () => true,
    release: async (_, info) => {
      if (!info || lock.holder?.since === info.since) delete lock.holder;
    },
  };
  return lock;
}

type Call = (method: string, args: unknown[]) => boolean;

/**
 * Starts a rollout to `image` that dies right after the first call `at` matches: that call and
 * every later one of the run (cluster, Traefik, clock, lock, history) never return.
 */
async function killedRun(f: FakeSwarm, lock: Lock, records: Revision[], image: string, at: Call) {
  let dead = false;
  const cut = <T extends object>(o: T, watch: boolean): T =>
    new Proxy(o, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if (typeof v !== "function") return v;
        return async (...args: unknown[]) => {
          if (dead) return hang;
          const r = await v.apply(target, args);
          if (watch && at(String(prop), args)) dead = true;
          return dead ? hang : r;
        };
      },
    });
  const base = context(f, records);
  const ctx: SwarmRollContext = {
    ...base,
    cluster: cut(f, true),
    routing: cut(f, false),
    clock: { now: base.clock.now, sleep: cut(base.clock, false).sleep },
    lock: cut(lock, false),
    history: cut(base.history, false),
  };
  const run = rollSwarm(ctx, image);
  run.catch(() => {});
  for (let i = 0; i < 10_000 && !dead; i++) await new Promise((r) => setImmediate(r));
  if (!dead) throw new Error(`the rollout ended before it was killed: ${await run.then(() => "ok")}`);
}

const on = (method: string, name?: string, nth = 1): Call => {
  let seen = 0;
  return (m, args) => m === method && (name === undefined || args[0] === name) && ++seen === nth;
};

function repairContext(f: FakeSwarm, lock: Lock, records: Revision[]) {
  return { ...context(f, records), lock, stale: () => ({ stale: true, why: "pid 1 is no longer running" }) };
}

describe("repairSwarm after a SIGKILL", () => {
  const phases: [string, Call, "app:v1" | "app:v2"][] = [
    ["stand-ins, one created", on("createStandIn"), "app:v1"],
    ["stand-ins, one in the users' balancer", on("setLabels", "shop_web-standin-2"), "app:v1"],
    ["hand-over", on("setLabels", "shop_web"), "app:v1"],
    ["replace", on("replace", "shop_web"), "app:v2"],
    ["put-back", on("putBack", "shop_web"), "app:v2"],
    ["retire, one stand-in out of Traefik", on("setLabels", "shop_web-standin-1", 2), "app:v2"],
    ["retire, one stand-in removed", on("remove", "shop_web-standin-1"), "app:v2"],
    ["settle", on("resubmit", "shop_web"), "app:v2"],
  ];
  for (const [phase, at, ends] of phases) {
    it(`killed in ${phase}: ends on ${ends} with its own labels, stand-ins gone, lock free, N always served`, async () => {
      const f = new FakeSwarm("app:broken");
      const lock = memLock();
      const records: Revision[] = [];
      await killedRun(f, lock, records, "app:v2", at);
      expect(lock.holder?.command).toBe("web --image app:v2");
      const r = await repairSwarm(repairContext(f, lock, records));
      const web = f.services.get("shop_web") as Svc;
      expect(web).toMatchObject({ image: ends, labels: L, replicas: 3 });
      expect(web.tasks.filter((t) => t.state === "running")).toHaveLength(3);
      expect([...f.services.keys()]).toEqual(["shop_web"]);
      expect(lock.holder).toBeUndefined();
      expect(f.minServing).toBeGreaterThanOrEqual(3);
      expect(r).toMatchObject({ to: ends, revision: 1 });
      // Ended on the killed run's target: its ref is what the compose file is to name.
      expect(r?.ref).toBe(ends === "app:v2" ? "app:v2" : undefined);
      expect(records[0]).toMatchObject({
        number: 1,
        image: { id: "app:v2" },
        result: ends === "app:v2" ? "complete" : "rolled-back",
        reason: "repaired after an interrupted web --image app:v2",
      });
    });
  }

  it("killed while the service is replaced by an image that never becomes healthy there: back to the previous one", async () => {
    const f = new FakeSwarm("app:broken");
    const lock = memLock();
    const records: Revision[] = [];
    await killedRun(f, lock, records, "app:v2", on("replace", "shop_web"));
    const web = f.services.get("shop_web") as Svc;
    for (const t of web.tasks) t.state = "starting";
    await repairSwarm(repairContext(f, lock, records));
    expect(web).toMatchObject({ image: "app:v1", labels: L });
    expect(web.tasks.filter((t) => t.state === "running")).toHaveLength(3);
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(f.minServing).toBeGreaterThanOrEqual(3);
    expect(records[0]).toMatchObject({ result: "rolled-back" });
  });

  it("a rerun of the rollout refuses in one line naming repair, changing nothing", async () => {
    for (const [at, Err] of [
      [on("setLabels", "shop_web"), RefusedError],
      [on("createStandIn"), LockHeldError],
    ] as const) {
      const f = new FakeSwarm("app:broken");
      const lock = memLock();
      await killedRun(f, lock, [], "app:v2", at);
      const version = f.services.get("shop_web")?.version;
      const rerun = { ...repairContext(f, lock, []) };
      const err = await rollSwarm(rerun, "app:v2").catch((e: Error) => e);
      expect(err).toBeInstanceOf(Err);
      expect((err as RefusedError).hint).toMatch(/compose-roll repair web/);
      expect(f.services.get("shop_web")?.version).toBe(version);
    }
  });

  it("refuses while the holder of the lock still runs, changing nothing", async () => {
    const f = new FakeSwarm("app:broken");
    const lock = memLock();
    await killedRun(f, lock, [], "app:v2", on("setLabels", "shop_web"));
    const live = { ...repairContext(f, lock, []), stale: () => ({ stale: false, why: "pid 1 still runs" }) };
    const err = await repairSwarm(live).catch((e: Error) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect(f.services.get("shop_web")?.labels["traefik.enable"]).toBe("false");
    expect(lock.holder).toBeDefined();
  });

  it("does nothing when no run left anything", async () => {
    const f = new FakeSwarm("app:broken");
    const lock = memLock();
    expect(await repairSwarm(repairContext(f, lock, []))).toBeUndefined();
    expect(f.services.get("shop_web")?.version).toBe(10);
  });
});

/** Every service's spec version, labels and image: what a dry run must leave exactly as it was. */
const cluster = (f: FakeSwarm) =>
  JSON.stringify([...f.services].map(([n, s]) => [n, s.version, s.image, s.labels]));

describe("planRepairSwarm (repair --dry-run) after a SIGKILL", () => {
  const phases: [string, Call, string, RegExp[]][] = [
    [
      "stand-ins",
      on("setLabels", "shop_web-standin-2"),
      "app:v1",
      [/^wait for shop_web's 3 task\(s\) of app:v1 to run/],
    ],
    [
      "hand-over",
      on("setLabels", "shop_web"),
      "app:v1",
      [/^update shop_web on app:v1 while out of Traefik/, /\(as shop_web-standin-1 carries them\)$/],
    ],
    [
      "replace",
      on("replace", "shop_web"),
      "app:v2",
      [
        /^update shop_web on app:v2 .*; if they do not become healthy within --health-timeout, the same back to app:v1$/,
      ],
    ],
    ["retire", on("remove", "shop_web-standin-1"), "app:v2", [/^wait for shop_web's 3 task\(s\) of app:v2/]],
  ];
  for (const [phase, at, ends, lines] of phases) {
    it(`killed in ${phase}: the steps repair then takes, on ${ends}, with nothing changed`, async () => {
      const f = new FakeSwarm("app:broken");
      const lock = memLock();
      const records: Revision[] = [];
      await killedRun(f, lock, records, "app:v2", at);
      const before = cluster(f);
      const held = lock.holder;
      const ctx = repairContext(f, lock, records);
      const plan = await planRepairSwarm(ctx);
      expect(cluster(f)).toBe(before);
      expect(lock.holder).toBe(held);
      expect(records).toEqual([]);
      expect(plan).toMatchObject({ image: { id: ends }, replicas: 3, lock: held });
      expect(plan.repair?.lock).toMatch(/^gone \(pid 1 is no longer running\): repair takes it over$/);
      expect(plan.steps[0]).toBe(
        "take over the lock of the interrupted web --image app:v2 (pid 1 is no longer running)",
      );
      for (const line of lines)
        expect(
          plan.steps.some((s) => line.test(s)),
          `${line} in ${plan.steps.join("\n")}`,
        ).toBe(true);
      expect(plan.steps.at(-2)).toMatch(/docker service rollback/);
      expect(plan.steps.at(-1)).toMatch(/^record revision 1 of the interrupted run/);
      const left = [...f.services.keys()].filter((k) => k !== "shop_web");
      if (left.length > 0)
        expect(plan.steps.join("\n")).toContain(`take the stand-ins (${left.join(", ")}) out of Traefik`);
      expect(plan.peakTasks).toBe(3 + left.length);
      // What the plan names is what repair then does.
      const r = await repairSwarm(ctx);
      expect(r?.to).toBe(ends);
    });
  }

  it("a live holder: the plan says a repair would refuse; nothing left: nothing to repair", async () => {
    const f = new FakeSwarm("app:broken");
    const lock = memLock();
    await killedRun(f, lock, [], "app:v2", on("setLabels", "shop_web"));
    const live = { ...repairContext(f, lock, []), stale: () => ({ stale: false, why: "pid 1 still runs" }) };
    const plan = await planRepairSwarm(live);
    expect(plan.repair?.lock).toBe("still running (pid 1 still runs): a repair now would refuse (exit 3)");
    const clean = await planRepairSwarm(repairContext(new FakeSwarm("app:broken"), memLock(), []));
    expect(clean).toMatchObject({ steps: [], image: { id: "app:v1" }, peakTasks: 3, repair: {} });
  });
});
