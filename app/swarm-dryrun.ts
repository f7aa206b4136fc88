// `--dry-run` on a Swarm: the stand-in rollout's phases for this service and image, worked out
// from what the cluster shows now, with nothing changed (no lock, no service, no label).
import type { LockInfo } from "../controller/ports.js";
import { swarmPlanSteps } from "../controller/swarm-rollout.js";
import { type SwarmRollContext, startingPoint } from "./swarm-roll.js";

export type SwarmPlanContext = Pick<SwarmRollContext, "cluster" | "name" | "svc" | "lock" | "drainMs">;

export interface SwarmPlan {
  image: { ref: string; id: string };
  from: { ref: string; id: string };
  replicas: number;
  /** Tasks at the peak: the service's and the stand-ins'. */
  peakTasks: number;
  /** Empty: it already runs that image with its own labels. */
  steps: string[];
  /** A rollout now would find the lock held (and wait for it or refuse). */
  lock?: LockInfo;
}

export async function planSwarm(ctx: SwarmPlanContext, imageRef: string, ref = imageRef): Promise<SwarmPlan> {
  const [start, lock] = await Promise.all([startingPoint(ctx, imageRef), ctx.lock.read(ctx.svc)]);
  const { snap, left, lb, image, unchanged } = start;
  const n = snap.view.replicas;
  const steps = unchanged
    ? []
    : swarmPlanSteps({
        name: ctx.name,
        replicas: n,
        image,
        balancer: `${lb.name}@swarm`,
        drain: `${ctx.drainMs / 1000} s`,
        left,
      });
  return {
    image: { ref, id: image },
    from: { ref: snap.view.image, id: snap.view.image },
    replicas: n,
    peakTasks: unchanged ? n : 2 * n,
    steps,
    ...(lock ? { lock } : {}),
  };
}
