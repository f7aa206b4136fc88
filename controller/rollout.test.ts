import { describe, expect, it } from "vitest";
import { HealthError, LockLostError, RefusedError, RollbackFailedError, RolledBackError } from "./errors.js";
import { FakeWorld, type Fault } from "./fakes.test-support.js";
import type { ImageInfo } from "./model.js";
import { type RolloutRequest, rollout } from "./rollout.js";

const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };
const svc = { project: "demo", service: "web" };

function request(image: ImageInfo, signal = new AbortController().signal, maxSurge = 1): RolloutRequest {
  return { svc, image, maxSurge, signal, timeouts: { healthMs: 120_000, routeMs: 10_000, drainMs: 3000 } };
}

function deps(world: FakeWorld) {
  return { engine: world, router: world, clock: world, reporter: world };
}

function images(world: FakeWorld): string[] {
  return [...world.replicasById.values()].map((r) => r.imageRef);
}

/** The state after a restore: exactly N old containers, all healthy and routed, nothing else. */
function expectRestored(world: FakeWorld, n: number) {
  expect(images(world)).toEqual(Array(n).fill("app:v1"));
  expect(world.serving()).toBe(n);
  expect(world.routed).toHaveLength(n);
  expect(world.minServing).toBeGreaterThanOrEqual(n);
}

describe("rollout", () => {
  for (const n of [1, 3, 5]) {
    it(`rolls ${n} replicas to v2 without ever serving fewer than ${n}`, async () => {
      const world = new FakeWorld([v1, v2]).seed(n, v1);
      const res = await rollout(deps(world), request(v2));
      expect(res).toMatchObject({ result: "complete", replicas: n, from: v1, to: v2 });
      expect(images(world)).toEqual(Array(n).fill("app:v2"));
      expect(world.serving()).toBe(n);
      expect(world.minServing).toBe(n);
      // Each old container drained before it was removed.
      const states = world.events.flatMap((e) => (e.type === "replica" ? [`${e.name}:${e.state}`] : []));
      expect(states.filter((s) => s.endsWith(":draining"))).toHaveLength(n);
      expect(world.events.at(-1)).toMatchObject({ type: "done", result: "complete" });
    });
  }

  it("does nothing when the service already runs the image", async () => {
    const world = new FakeWorld([v1]).seed(2, v1);
    expect(await rollout(deps(world), request(v1))).toMatchObject({ result: "unchanged" });
    expect(world.events).toEqual([]);
  });

  it("refuses, changing nothing, when Traefik's file does not list the running containers", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    world.routed = ["http://web:8000"];
    await expect(rollout(deps(world), request(v2))).rejects.toThrow(RefusedError);
    expect(world.routed).toEqual(["http://web:8000"]);
    expect(images(world)).toEqual(["app:v1", "app:v1"]);
  });

  it("replaces an old container that exited while Traefik still lists it (docker-rollout#20)", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    const dead = world.replicasById.get("c2");
    if (!dead) throw new Error("seed made no c2");
    // Servers are listed by short container ID; an exited container has no URL of its own.
    world.routed = world.routed.map((u) => (u === dead.url ? "http://c2:8000" : u));
    Object.assign(dead, { running: false, exitCode: 137, url: undefined });
    const res = await rollout(deps(world), request(v2));
    expect(res).toMatchObject({ result: "complete", replicas: 3 });
    expect(images(world)).toEqual(Array(3).fill("app:v2"));
    expect(world.routed).toHaveLength(3);
  });

  it("still refuses a listed server no container of the service accounts for", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    world.routed = [...world.routed, "http://0123456789ab:8000"];
    await expect(rollout(deps(world), request(v2))).rejects.toThrow(RefusedError);
  });

  it("stops at once on a reason its caller aborts with (a new container crashed), naming it", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    const ctl = new AbortController();
    const reporter = {
      event: (e: Parameters<FakeWorld["event"]>[0]) => {
        world.event(e);
        if (e.type === "replica" && e.state === "routed")
          ctl.abort(new HealthError("demo-web-4 exited with code 3"));
      },
    };
    const err = await rollout({ ...deps(world), reporter }, request(v2, ctl.signal)).catch((e) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.message).toBe("rolled back; still serving app:v1: demo-web-4 exited with code 3");
    expectRestored(world, 3);
  });

  // Every step's failure must lead back to N containers of v1, all serving.
  const faults: [Fault, string][] = [
    ["start", "creating the container fails"],
    ["health", "the new container turns unhealthy"],
    ["crash", "the new container exits at boot"],
    ["health-timeout", "the new container never turns healthy"],
    ["verify", "Traefik cannot reach the new container"],
  ];
  for (const [fault, what] of faults) {
    for (const n of [1, 3]) {
      it(`restores ${n} x v1 when ${what}`, async () => {
        const world = new FakeWorld([v1, v2], { [fault]: v2.id }).seed(n, v1);
        const err = await rollout(deps(world), request(v2)).catch((e) => e);
        expect(err).toBeInstanceOf(RolledBackError);
        expect(err.message).toMatch(/^rolled back; still serving app:v1/);
        expectRestored(world, n);
        // The probe route written while it booted is gone too (clear() at the end).
        expect(world.probe).toBeUndefined();
      });
    }
  }

  it("restores a half-done rollout at full capacity when the third replica fails", async () => {
    // v2 boots fine twice, then fails: the two already replaced must go back to v1 too.
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    let starts = 0;
    const start = world.start.bind(world);
    world.start = async (t, image, number) => {
      if (image.id === v2.id && ++starts === 3) throw new Error("no space left on device");
      return start(t, image, number);
    };
    await expect(rollout(deps(world), request(v2))).rejects.toThrow(/still serving app:v1: no space left/);
    expectRestored(world, 3);
  });

  for (let at = 2; at <= 9; at++) {
    it(`restores when interrupted by a signal at event ${at}`, async () => {
      const controller = new AbortController();
      const world = new FakeWorld([v1, v2], {}, { controller, atEvent: at }).seed(3, v1);
      const err = await rollout(deps(world), request(v2, controller.signal)).catch((e) => e);
      expect(err).toBeInstanceOf(RolledBackError);
      expect(err.cause.message).toMatch(/interrupted/);
      expectRestored(world, 3);
    });
  }

  it("restores past an old container whose drain ends while the loop observes (seen exited, then gone)", async () => {
    // CI, label mode: the restore saw the old web-2 stopped but not yet removed, its drain
    // over by the time the observation was filtered, and gave up: "web-2 exited with code 0".
    const controller = new AbortController();
    const secondDrain = (e: { type: string; state?: string; name?: string }) =>
      e.type === "replica" && e.state === "draining" && e.name === "demo-web-2";
    const world = new FakeWorld([v1, v2], {}, { controller, atEvent: secondDrain }).seed(3, v1);
    world.lagging = true;
    const err = await rollout(deps(world), request(v2, controller.signal)).catch((e) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.cause.message).toMatch(/interrupted/);
    expectRestored(world, 3);
    // Each container is stopped once: the drain's stop, not a second "retire" of a ghost.
    const removed = world.events.flatMap((e) =>
      e.type === "replica" && e.state === "removed" ? [e.name] : [],
    );
    expect(new Set(removed).size).toBe(removed.length);
  });

  it("reports rollback failure with the exact state when restoring fails too", async () => {
    // The new container crashes, and Docker then refuses to remove it.
    const world = new FakeWorld([v1, v2], { crash: v2.id, stop: "*" }).seed(2, v1);
    const err = await rollout(deps(world), request(v2)).catch((e) => e);
    expect(err).toBeInstanceOf(RollbackFailedError);
    expect(err.message).toMatch(/^rollback failed: stop failed/);
    expect(err.state).toEqual([
      "demo-web-1 app:v1 running health=healthy in Traefik as http://10.0.0.1:8000",
      "demo-web-2 app:v1 running health=healthy in Traefik as http://10.0.0.2:8000",
      "demo-web-3 app:v2 exited(1) health=starting not in Traefik",
    ]);
  });

  it("restores when stopping a drained old container fails in the background", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    const stop = world.stopAndRemove.bind(world);
    let calls = 0;
    world.stopAndRemove = async (r, o) => {
      if (++calls === 1) throw new Error("Docker: could not stop demo-web-1: device busy");
      return stop(r, o);
    };
    const err = await rollout(deps(world), request(v2)).catch((e) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.message).toMatch(/device busy/);
    expectRestored(world, 3);
  });

  it("counts an old container's drain period from when the router says Traefik stopped sending (label mode)", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    const log: string[] = [];
    const urls = new Map([...world.replicasById.values()].map((r) => [r.url as string, r.name]));
    world.leaving = async (url: string) => {
      log.push(`out ${urls.get(url)} at ${world.now()}`);
    };
    const sleep = world.sleep.bind(world);
    world.sleep = async (ms: number) => {
      log.push(`sleep ${ms}`);
      return sleep(ms);
    };
    const stop = world.stopAndRemove.bind(world);
    world.stopAndRemove = async (r) => {
      log.push(`stop ${r.name}`);
      return stop(r);
    };
    await rollout(deps(world), request(v2));
    expect(images(world)).toEqual(["app:v2", "app:v2", "app:v2"]);
    expect(world.minServing).toBe(3);
    // Each old one: out of Traefik, then the whole drain period, then its stop.
    for (const name of urls.values()) {
      const out = log.findIndex((l) => l.startsWith(`out ${name} `));
      const stopAt = log.indexOf(`stop ${name}`);
      expect(out).toBeGreaterThanOrEqual(0);
      expect(log.slice(out + 1, stopAt)).toContain("sleep 3000");
    }
  });

  it("restores when Traefik never drops a drained old container", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    let calls = 0;
    world.leaving = async () => {
      if (++calls === 1)
        throw new Error("demo-web-1 was still healthy or in Traefik 30000 ms after drain file");
    };
    const err = await rollout(deps(world), request(v2)).catch((e) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.message).toMatch(/still healthy or in Traefik/);
    expect(world.minServing).toBeGreaterThanOrEqual(3);
  });

  it("with surge 3 boots all new containers side by side", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    await rollout(deps(world), request(v2, undefined, 3));
    const adds = world.events.flatMap((e) => (e.type === "replica" ? [e.state] : []));
    expect(adds.slice(0, 3)).toEqual(["adding", "adding", "adding"]);
    expect(images(world)).toEqual(["app:v2", "app:v2", "app:v2"]);
    expect(world.minServing).toBe(3);
  });

  describe("recovery after a killed run", () => {
    /** What a SIGKILL mid-rollout can leave: 1 old retired, a new one routed, another booting, a stale server. */
    function killedMidway(): FakeWorld {
      const world = new FakeWorld([v1, v2]).seed(3, v1);
      const [first] = [...world.replicasById.values()];
      world.replicasById.delete(first?.id as string); // retired, but its server is still listed
      return world;
    }

    async function withNewOnes(world: FakeWorld): Promise<FakeWorld> {
      const t = await world.template("c2");
      const routed = await world.start(t, v2, 4);
      const r = world.replicasById.get(routed.id);
      if (r) r.health = "healthy";
      world.routed.push(routed.url as string);
      await world.start(t, v2, 5); // still booting
      return world;
    }

    it("finishes the interrupted rollout when rerun with the same image", async () => {
      const world = await withNewOnes(killedMidway());
      const err = await rollout(deps(world), request(v2)).catch((e) => e);
      expect(err).toBeInstanceOf(RefusedError); // without the lock's record it refuses...
      const res = await rollout(deps(world), request(v2), { previous: v1, replicas: 3 });
      expect(res.result).toBe("complete"); // ...with it, it converges
      expect(images(world)).toEqual(["app:v2", "app:v2", "app:v2"]);
      expect(world.routed).toHaveLength(3);
      expect(world.serving()).toBe(3);
    });

    it("repair goes back past an old container the killed run stopped but never removed", async () => {
      const world = await withNewOnes(killedMidway());
      // The killed run had drained and stopped a second old container; the SIGKILL came before its removal.
      const [stopped] = [...world.replicasById.values()];
      if (stopped) stopped.running = false;
      world.routed = world.routed.filter((u) => u !== stopped?.url);
      const res = await rollout(deps(world), request(v1), { previous: v1, replicas: 3 });
      expect(res.result).toBe("complete");
      // Two served when the repair began (the kill had taken the rest): no minimum to hold here.
      expect(images(world)).toEqual(Array(3).fill("app:v1"));
      expect(world.serving()).toBe(3);
      expect(world.routed).toHaveLength(3);
      expect(world.replicasById.has(stopped?.id as string)).toBe(false);
    });

    it("rolls back to the previous image on repair, removing the stale server", async () => {
      const world = await withNewOnes(killedMidway());
      const res = await rollout(deps(world), request(v1), { previous: v1, replicas: 3 });
      expect(res.result).toBe("complete");
      expectRestored(world, 3);
    });
  });

  it("a lost lock stops it where it is: no restore, the LockLostError itself, also when lost during a restore", async () => {
    // Lost mid-rollout: the fence refuses the next step; nothing is restored.
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    const lost = new LockLostError("lost the lock of demo/web: taken over");
    let steps = 0;
    const fence = async () => {
      if (++steps > 3) throw lost;
    };
    await expect(rollout(deps(world), { ...request(v2), fence })).rejects.toBe(lost);
    expect(world.events.map((e) => e.type)).not.toContain("restore");
    const changes = world.events.length;
    // Lost while restoring after a failure: stops there too, and says the lock was lost, not that the restore failed.
    const failing = new FakeWorld([v1, v2], { verify: v2.id }).seed(3, v1);
    let restoring = false;
    const during = async () => {
      restoring ||= failing.events.some((e) => e.type === "restore");
      if (restoring) throw lost;
    };
    await expect(rollout(deps(failing), { ...request(v2), fence: during })).rejects.toBe(lost);
    expect(failing.events.at(-1)?.type).toBe("restore");
    expect(world.events).toHaveLength(changes);
  });
});
