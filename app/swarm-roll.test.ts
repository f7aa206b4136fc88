// The Swarm rollout on fakes (app/swarm.test-support.ts): the cluster refuses to stop a task
// Traefik still lists.
import { describe, expect, it } from "vitest";
import {
  AbortedError,
  exitCodeFor,
  NoLeaderError,
  RefusedError,
  RollbackFailedError,
  RolledBackError,
} from "../controller/errors.js";
import type { Revision } from "../controller/ports.js";
import { context, FakeSwarm, L, type Svc } from "./swarm.test-support.js";
import { rollSwarm } from "./swarm-roll.js";

/** The first time Traefik is read once `now()` holds, a task of `name` is lost; its replacement runs 4 reads later. */
function loseWhileAwaited(f: FakeSwarm, now: () => boolean, name: string): void {
  const servers = f.servers.bind(f);
  let done = false;
  f.servers = async (lb) => {
    if (now() && !done) {
      done = true;
      f.lose(name, 4);
    }
    return servers(lb);
  };
}

describe("rollSwarm", () => {
  it("ends on the new image with its own labels, stand-ins gone, never stopping what Traefik lists", async () => {
    const f = new FakeSwarm("app:broken");
    const records: Revision[] = [];
    const r = await rollSwarm(context(f, records), "app:v2");
    const web = f.services.get("shop_web") as Svc;
    expect(web.image).toBe("app:v2");
    expect(web.labels).toEqual(L);
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(r).toMatchObject({ from: "app:v1", to: "app:v2", revision: 1, peakTasks: 6 });
    expect(records[0]).toMatchObject({ number: 1, result: "complete", image: { ref: "app:v2" } });
  });

  it("a never-healthy image: rolled back, the service untouched, stand-ins removed", async () => {
    const f = new FakeSwarm("app:broken");
    const records: Revision[] = [];
    const err = await rollSwarm(context(f, records), "app:broken").catch((e: Error) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect((err as Error).message).toMatch(
      /stays on app:v1: 1 healthy task\(s\) of shop_web-standin-\d: 1 task/,
    );
    const web = f.services.get("shop_web") as Svc;
    expect(web.version).toBe(10);
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(records[0]).toMatchObject({ result: "rolled-back" });
  });

  it("retires the stand-ins a killed run left beside the service before making its own", async () => {
    const f = new FakeSwarm("app:broken");
    f.leave("shop_web-standin-1");
    await rollSwarm(context(f, []), "app:v2");
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(f.services.get("shop_web")?.image).toBe("app:v2");
  });

  it("refuses, changing nothing, when a killed run's stand-ins are all that serves", async () => {
    const f = new FakeSwarm("app:broken");
    f.leave("shop_web-standin-1");
    const web = f.services.get("shop_web") as Svc;
    web.labels = { ...L, "traefik.enable": "false" };
    const err = await rollSwarm(context(f, []), "app:v2").catch((e: Error) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/out of Traefik and 1 stand-in\(s\) a killed rollout left/);
    expect([...f.services.keys()]).toEqual(["shop_web", "shop_web-standin-1"]);
    expect(web.version).toBe(10);
  });

  it("SIGINT while the stand-ins start: they are removed, the service untouched, exit 5", async () => {
    const f = new FakeSwarm("app:broken");
    const stop = new AbortController();
    const ctx = context(f, []);
    const create = f.createStandIn.bind(f);
    f.createStandIn = async (...args) => {
      await create(...args);
      stop.abort(new AbortedError("interrupted by SIGINT"));
    };
    const err = await rollSwarm({ ...ctx, signal: stop.signal }, "app:v2").catch((e: Error) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect((err as RolledBackError).cause).toBeInstanceOf(AbortedError);
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(f.services.get("shop_web")).toMatchObject({ image: "app:v1", version: 10 });
  });

  it("SIGINT while the service is replaced offline: its previous spec is back before the stand-ins leave", async () => {
    const f = new FakeSwarm("app:broken");
    const stop = new AbortController();
    const replace = f.replace.bind(f);
    f.replace = async (...args) => {
      await replace(...args);
      stop.abort(new AbortedError("interrupted by SIGINT"));
    };
    const err = await rollSwarm({ ...context(f, []), signal: stop.signal }, "app:v2").catch((e: Error) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(f.services.get("shop_web")).toMatchObject({ image: "app:v1", labels: L });
    expect([...f.services.keys()]).toEqual(["shop_web"]);
  });

  it("a stand-in's node lost while Traefik is awaited: Swarm's replacement is awaited, and the rollout finishes", async () => {
    const f = new FakeSwarm("app:broken");
    const setLabels = f.setLabels.bind(f);
    let joined = false;
    f.setLabels = async (name, labels) => {
      await setLabels(name, labels);
      joined ||= name === "shop_web-standin-3" && labels["traefik.enable"] === "true";
    };
    // While Traefik is awaited to list the stand-ins beside the service, a stand-in's node is cut.
    loseWhileAwaited(f, () => joined, "shop_web-standin-2");
    const r = await rollSwarm(context(f, []), "app:v2");
    expect(r).toMatchObject({ to: "app:v2" });
    expect(f.services.get("shop_web")).toMatchObject({ image: "app:v2", labels: L });
    expect([...f.services.keys()]).toEqual(["shop_web"]);
  });

  it("never takes the service out of Traefik while a lost stand-in's replacement is not yet running", async () => {
    const f = new FakeSwarm("app:broken");
    const setLabels = f.setLabels.bind(f);
    const runningStandIns: number[] = [];
    f.setLabels = async (name, labels) => {
      if (name === "shop_web" && labels["traefik.enable"] === "false") {
        const standIns = await f.standIns("shop_web");
        const tasks = (await Promise.all(standIns.map((s) => f.tasks(s)))).flat();
        runningStandIns.push(tasks.filter((t) => t.state === "running" && t.desired === "running").length);
      }
      await setLabels(name, labels);
      if (name === "shop_web-standin-3" && labels["traefik.enable"] === "true")
        f.lose("shop_web-standin-1", 12);
    };
    await rollSwarm(context(f, []), "app:v2");
    expect(runningStandIns).toEqual([3]);
    expect(f.services.get("shop_web")).toMatchObject({ image: "app:v2", labels: L });
  });

  it("a task of the service lost while it is replaced offline: its replacement is proven, and the rollout finishes", async () => {
    const f = new FakeSwarm("app:broken");
    const replace = f.replace.bind(f);
    let replaced = false;
    f.replace = async (...args) => {
      await replace(...args);
      replaced = true;
    };
    // While Traefik is awaited to list its new tasks on the probe router, a node is cut.
    loseWhileAwaited(f, () => replaced, "shop_web");
    await rollSwarm(context(f, []), "app:v2");
    expect(f.services.get("shop_web")).toMatchObject({ image: "app:v2", labels: L });
    expect([...f.services.keys()]).toEqual(["shop_web"]);
  });

  it("rolls back to an image it ran before: the tasks of that image Swarm keeps as ended are not failures", async () => {
    const f = new FakeSwarm("app:broken");
    const records: Revision[] = [];
    await rollSwarm(context(f, records), "app:v2");
    const r = await rollSwarm(context(f, records), "app:v1");
    expect(r).toMatchObject({ from: "app:v2", to: "app:v1", revision: 2 });
    expect(f.services.get("shop_web")).toMatchObject({ image: "app:v1", labels: L });
    expect(records[0]).toMatchObject({ number: 2, result: "complete" });
  });

  it("does nothing when the service already runs the image with its own labels", async () => {
    const f = new FakeSwarm("app:broken");
    const records: Revision[] = [];
    const r = await rollSwarm(context(f, records), "app:v1");
    expect(r.unchanged).toBe(true);
    expect(f.services.get("shop_web")?.version).toBe(10);
    expect(records).toEqual([]);
  });

  it("the Swarm without a leader as the rollout reads its history: exit 9, nothing changed, no lock taken", async () => {
    const f = new FakeSwarm("app:broken");
    const ctx = context(f, []);
    let locked = false;
    const noLeader = new NoLeaderError("the Swarm has no leader: could not list the revision records (…)");
    const err = await rollSwarm(
      {
        ...ctx,
        history: { ...ctx.history, list: () => Promise.reject(noLeader) },
        lock: {
          ...ctx.lock,
          acquire: async () => {
            locked = true;
            return { acquired: true };
          },
        },
      },
      "app:v2",
    ).catch((e: Error) => e);
    expect(err).toBe(noLeader);
    expect(exitCodeFor(err)).toBe(9);
    expect(locked).toBe(false);
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(f.services.get("shop_web")?.version).toBe(10);
  });

  it("no leader through the replace, nor through its restore: exit 7 naming repair, the stand-ins left serving", async () => {
    const f = new FakeSwarm("app:broken");
    const noLeader = () =>
      Promise.reject(new NoLeaderError("the Swarm has no leader: could not update shop_web"));
    f.replace = noLeader;
    f.restore = noLeader;
    const records: Revision[] = [];
    const err = await rollSwarm(context(f, records), "app:v2").catch((e: Error) => e);
    expect(err).toBeInstanceOf(RollbackFailedError);
    expect(exitCodeFor(err)).toBe(7);
    expect((err as Error).message).toMatch(
      /replace failed .*putting it back failed too: the Swarm has no leader/,
    );
    expect((err as RollbackFailedError).state.join("\n")).toMatch(/compose-roll repair web/);
    // Out of Traefik, the service was not put back: the stand-ins carry its users.
    expect([...f.services.keys()].filter((k) => k.includes("standin"))).toHaveLength(3);
    expect(records[0]).toMatchObject({ result: "failed" });
  });

  it("Traefik's API down while a hand-over is awaited: unknown is waited out, nothing stopped, and it finishes", async () => {
    const f = new FakeSwarm("app:broken");
    const servers = f.servers.bind(f);
    let reads = 0;
    let down = 0;
    f.servers = async (lb) => {
      // From the 10th read on, 40 reads of a Traefik that does not answer.
      if (++reads >= 10 && reads < 50) {
        down++;
        throw new Error("GET http://traefik:8080/api/http/services/shop-web@swarm failed: ECONNREFUSED");
      }
      return servers(lb);
    };
    const r = await rollSwarm(context(f, []), "app:v2");
    expect(down).toBe(40);
    expect(r).toMatchObject({ to: "app:v2" });
    expect(f.services.get("shop_web")).toMatchObject({ image: "app:v2", labels: L });
    expect(f.minServing).toBeGreaterThanOrEqual(3);
  });
});
