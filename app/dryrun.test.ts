// dryRun's plan for a service with an exited container: the rollout replaces it too
// (controller/rollout.ts replicaCount), so the plan and its replica count must say so.
import { describe, expect, it } from "vitest";
import type { ImageInfo, Observation, Replica } from "../controller/model.js";
import type { AppContext } from "./context.js";
import { planDryRun } from "./dryrun.js";
import type { Truth } from "./writeback.js";

const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };
const replica = (n: number, running = true): Replica => ({
  id: `c${n}`,
  name: `shop-web-${n}`,
  number: n,
  imageId: v1.id,
  imageRef: v1.ref,
  running,
  health: running ? "healthy" : "none",
  url: `http://10.0.0.${n}:8000`,
  ...(running ? {} : { exitCode: 137 }),
});

describe("dryRun", () => {
  it("plans for every replica the rollout restores to, an exited one included", async () => {
    const obs: Observation = {
      replicas: [replica(1), replica(2), replica(3, false)],
      routed: ["http://10.0.0.1:8000", "http://10.0.0.2:8000"],
    };
    const routing = { mode: "labels", summary: "labels (web-shop@docker)", service: "web-shop@docker" };
    const ctx = {
      opts: { maxSurge: 1 },
      svc: { project: "shop", service: "web" },
      deps: { router: { describe: () => routing } },
      compose: { files: [] },
    } as unknown as AppContext;
    const plan = await planDryRun(ctx, obs, v2, { labels: {} } as unknown as Truth);
    expect(plan.replicas).toBe(3);
    // Three new containers started and routed; all three old ones (the exited one too) retired.
    expect(plan.steps.filter((s) => s.kind === "start")).toHaveLength(3);
    expect(plan.steps.filter((s) => s.kind === "route")).toHaveLength(3);
    expect(
      plan.steps
        .filter((s) => s.kind === "retire")
        .map((s) => s.name)
        .sort(),
    ).toEqual(["shop-web-1", "shop-web-2", "shop-web-3"]);
  });
});
