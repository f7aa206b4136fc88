// `--dry-run` on a Swarm: the stand-in rollout's phases for this service and image, or what
// `repair` would do, worked out from what the cluster shows now, with nothing changed (no lock,
// no service, no label).
import type { History, LockInfo } from "../controller/ports.js";
import { nextRevision } from "../controller/revisions.js";
import { swarmRepairSteps } from "../controller/swarm-repair-plan.js";
import { swarmPlanSteps } from "../controller/swarm-rollout.js";
import { type RepairSurveyContext, surveyRepair } from "./swarm-repair.js";
import { recorded, type SwarmRollContext, startingPoint } from "./swarm-roll.js";

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
  /** A repair's plan (a rollout's without). */
  repair?: {
    /** What it would do with the lock's holder. */
    lock?: string;
  };
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

export type SwarmRepairPlanContext = RepairSurveyContext & {
  history: Pick<History, "list">;
  drainMs: number;
};

/** What `repair` would do now, from each phase a killed run can leave; nothing changed. */
export async function planRepairSwarm(ctx: SwarmRepairPlanContext): Promise<SwarmPlan> {
  const found = await surveyRepair(ctx);
  if (!found) {
    const snap = await ctx.cluster.snapshot(ctx.name);
    const image = { ref: snap.view.image, id: snap.view.image };
    const n = snap.view.replicas;
    return { image, from: image, replicas: n, peakTasks: n, steps: [], repair: {} };
  }
  const { held, gone, snap, left, serves, joined, lb, image, labelsFrom, target, back } = found;
  const live = held && gone && !gone.stale;
  const history = held ? await recorded(ctx) : [];
  const n = snap.view.replicas;
  const steps = swarmRepairSteps({
    name: ctx.name,
    replicas: n,
    image,
    ...(!serves && back ? { back: back.id } : {}),
    balancer: `${lb.name}@swarm`,
    drain: `${ctx.drainMs / 1000} s`,
    serves,
    left,
    joined: left.filter(joined),
    ...(labelsFrom ? { labelsFrom } : {}),
    ...(held && gone
      ? { takeOver: { command: held.command, why: gone.why, revision: nextRevision(history) } }
      : {}),
  });
  return {
    image: { ref: target.ref, id: image },
    from: { ref: snap.view.image, id: snap.view.image },
    replicas: n,
    peakTasks: n + left.length,
    steps,
    ...(held ? { lock: held } : {}),
    repair:
      held && gone
        ? {
            lock: live
              ? `still running (${gone.why}): a repair now would refuse (exit 3)`
              : `gone (${gone.why}): repair takes it over`,
          }
        : {},
  };
}
