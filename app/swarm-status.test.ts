import { describe, expect, it } from "vitest";
import type { LockInfo, Revision } from "../controller/ports.js";
import { lockInfo } from "../state/fake-swarm.test-support.js";
import { context, FakeSwarm, L, type Svc } from "./swarm.test-support.js";
import { rollSwarm } from "./swarm-roll.js";
import { swarmStatus } from "./swarm-status.js";

function statusOf(f: FakeSwarm, records: Revision[], lock?: LockInfo) {
  const ctx = context(f, records);
  return swarmStatus({ ...ctx, lock: { read: async () => lock } });
}

describe("swarmStatus", () => {
  it("after a rollout: its image, tasks running of replicas, in Traefik by its labels, the revision recorded", async () => {
    const f = new FakeSwarm("app:broken");
    const records: Revision[] = [];
    await rollSwarm(context(f, records), "app:v2");
    const [first] = (f.services.get("shop_web") as Svc).tasks;
    if (first) first.state = "failed";
    const s = await statusOf(f, records);
    expect(s).toMatchObject({ name: "shop_web", image: "app:v2", replicas: 3, running: 2, inTraefik: true });
    expect(s.standIns).toEqual([]);
    expect(s.lock).toBeUndefined();
    expect(s.last).toMatchObject({ number: 1, result: "complete", image: { ref: "app:v2" } });
  });

  it("what a killed rollout left: out of Traefik, its stand-ins, the lock's holder; nothing recorded", async () => {
    const f = new FakeSwarm("app:broken");
    f.leave("shop_web-standin-1");
    (f.services.get("shop_web") as Svc).labels = { ...L, "traefik.enable": "false" };
    const held = lockInfo(42);
    const s = await statusOf(f, [], held);
    expect(s).toMatchObject({ inTraefik: false, standIns: ["shop_web-standin-1"], lock: held, running: 3 });
    expect(s.last).toBeUndefined();
  });
});
