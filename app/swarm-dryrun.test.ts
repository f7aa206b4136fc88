// The Swarm dry run on the fakes of app/swarm.test-support.ts: the plan, and nothing changed.
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import type { LockInfo } from "../controller/ports.js";
import { context, FakeSwarm, L } from "./swarm.test-support.js";
import { planSwarm } from "./swarm-dryrun.js";

const versions = (f: FakeSwarm) => [...f.services].map(([n, s]) => `${n}@${s.version}`);

describe("planSwarm", () => {
  it("lists the stand-in rollout's phases with the service's names, changing nothing", async () => {
    const f = new FakeSwarm("app:broken");
    const before = versions(f);
    const p = await planSwarm(context(f, []), "app:v2");
    expect(p).toMatchObject({ image: { id: "app:v2" }, from: { id: "app:v1" }, replicas: 3, peakTasks: 6 });
    expect(p.steps).toHaveLength(6);
    expect(p.steps[0]).toMatch(
      /^start 3 one-task stand-in service\(s\) of app:v2 \(shop_web-standin-1 … shop_web-standin-3\)/,
    );
    expect(p.steps[1]).toMatch(
      /take shop_web out of Traefik .* shop-web@swarm lists only the stand-ins; drain 1 s/,
    );
    expect(p.steps[5]).toMatch(/docker service rollback/);
    expect(p.lock).toBeUndefined();
    expect(versions(f)).toEqual(before);
  });

  it("shows stand-ins a killed run left beside the service retired first, and a held lock", async () => {
    const f = new FakeSwarm("app:broken");
    f.leave("shop_web-standin-1");
    const holder = { command: "web --image app:v9" } as LockInfo;
    const p = await planSwarm(
      { ...context(f, []), lock: { ...context(f, []).lock, read: async () => holder } },
      "app:v2",
    );
    expect(p.steps[0]).toMatch(/^retire the stand-ins a killed run left \(shop_web-standin-1\)/);
    expect(p.steps).toHaveLength(7);
    expect(p.lock).toBe(holder);
    expect([...f.services.keys()]).toEqual(["shop_web", "shop_web-standin-1"]);
  });

  it("no steps when the service already runs the image with its own labels", async () => {
    const f = new FakeSwarm("app:broken");
    const p = await planSwarm(context(f, []), "app:v1");
    expect(p.steps).toEqual([]);
    expect(p.peakTasks).toBe(3);
  });

  it("refuses as the rollout would when a killed run's stand-ins are all that serves", async () => {
    const f = new FakeSwarm("app:broken");
    f.leave("shop_web-standin-1");
    (f.services.get("shop_web") as { labels: Record<string, string> }).labels = {
      ...L,
      "traefik.enable": "false",
    };
    const err = await planSwarm(context(f, []), "app:v2").catch((e: Error) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).hint).toMatch(/compose-roll repair web/);
  });
});
