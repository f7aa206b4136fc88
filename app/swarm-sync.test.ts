import { describe, expect, it } from "vitest";
import { LockHeldError, RefusedError } from "../controller/errors.js";
import type { LockInfo } from "../controller/ports.js";
import { lockInfo } from "../state/fake-swarm.test-support.js";
import { context, FakeSwarm, L, type Svc } from "./swarm.test-support.js";
import { swarmSync } from "./swarm-sync.js";

function syncOf(f: FakeSwarm, lock?: LockInfo, stale = true) {
  const versions = () => [...f.services].map(([n, s]) => `${n}@${s.version}`);
  const before = versions();
  const run = swarmSync({
    ...context(f, []),
    lock: { read: async () => lock },
    stale: () => ({ stale, why: stale ? "pid 42 is no longer running" : "pid 42 is still running" }),
  });
  // Whatever it says, nothing in the cluster changed.
  return run.finally(() => expect(versions()).toEqual(before));
}

describe("swarmSync", () => {
  it("nothing left over: one line, not needed", async () => {
    const line = await syncOf(new FakeSwarm("app:broken"));
    expect(line).toBe(
      "shop_web is routed by its Swarm service labels (shop-web@swarm): Traefik keeps it in sync itself; sync is not needed",
    );
  });

  it("stand-ins and the service out of Traefik: says so, names repair (exit 2)", async () => {
    const f = new FakeSwarm("app:broken");
    f.leave("shop_web-standin-1");
    (f.services.get("shop_web") as Svc).labels = { ...L, "traefik.enable": "false" };
    const err = await syncOf(f).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).message).toContain("the service out of Traefik");
    expect((err as RefusedError).message).toContain("1 stand-in(s): shop_web-standin-1");
    expect((err as RefusedError).hint).toContain("compose-roll repair web");
  });

  it("stand-ins alone, beside the service in Traefik, are leftovers too", async () => {
    const f = new FakeSwarm("app:broken");
    f.leave("shop_web-standin-2");
    const err = await syncOf(f).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).not.toContain("out of Traefik");
  });

  it("the lock of a run that is gone is a leftover; a live holder's rollout is waited for (exit 3)", async () => {
    const stale = await syncOf(new FakeSwarm("app:broken"), lockInfo(42)).catch((e: Error) => e);
    expect(stale).toBeInstanceOf(RefusedError);
    expect((stale as Error).message).toContain("the lock of an interrupted compose-roll web --image app:v2");
    const live = await syncOf(new FakeSwarm("app:broken"), lockInfo(42), false).catch((e: Error) => e);
    expect(live).toBeInstanceOf(LockHeldError);
    expect((live as Error).message).toContain("still runs");
  });
});
