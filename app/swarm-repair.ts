// `repair` on a Swarm, after a rollout killed in any phase (controller/swarm-rollout.ts names
// them). What such a run leaves: stand-ins (in the users' balancer or still on their probe
// routers), the service out of Traefik or on its probe router, maybe mid-update to the new image,
// and its lock. Whatever the phase, the service converges on the image its spec names now, the
// cheapest safe end: before `replace` that is the image it ran (its tasks never restarted), after
// it the new one (already proven in the stand-ins). Its tasks are proven through a probe router
// and put back in Traefik beside the stand-ins before any stand-in leaves, so the users' balancer
// never lists fewer than N. An image that cannot become healthy sends it back to the one the
// interrupted run replaced. The lock is taken over only from a holder that is gone.
import { HealthError, LockHeldError, RefusedError } from "../controller/errors.js";
import type { LockInfo, Revision } from "../controller/ports.js";
import { nextRevision } from "../controller/revisions.js";
import type { SwarmSnapshot } from "../controller/swarm-ports.js";
import { type Balancer, finalLabels, servesItself, usersBalancer } from "../controller/swarm-rollout.js";
import { underLease } from "./swarm-lease.js";
import { recorded, type SwarmRollContext, type SwarmRollResult } from "./swarm-roll.js";
import { SwarmSteps } from "./swarm-steps.js";

export type SwarmRepairContext = SwarmRollContext & Required<Pick<SwarmRollContext, "stale">>;

/** What a repair finds before it changes anything (a dry run shows it). */
export interface RepairSurvey {
  held?: LockInfo;
  /** Whether the holder is gone, and why (with `held`). */
  gone?: { stale: boolean; why: string };
  snap: SwarmSnapshot;
  /** Stand-ins a killed run left. */
  left: string[];
  /** The service is in Traefik with its own labels. */
  serves: boolean;
  /** A left stand-in carries the users' labels. */
  joined(standIn: string): boolean;
  /** The service's own labels and update config (from a stand-in when the service lost them). */
  origin: SwarmSnapshot;
  /** That stand-in. */
  labelsFrom?: string;
  lb: Balancer;
  /** The image the service converges on: the one its spec names now. */
  image: string;
  /** What the interrupted run rolled to, when the service runs it now; else `image` itself. */
  target: { ref: string; id: string };
  /** Where an `image` that does not become healthy goes back to: the run's previous, when it differs. */
  back?: { ref: string; id: string };
  /** The labels it ends with. */
  final: Record<string, string>;
}

export type RepairSurveyContext = Pick<SwarmRepairContext, "lock" | "svc" | "stale" | "cluster" | "name">;

/** Read only. Undefined: nothing was left to repair; refused when a repair could not start. */
export async function surveyRepair(ctx: RepairSurveyContext): Promise<RepairSurvey | undefined> {
  const held = await ctx.lock.read(ctx.svc);
  const gone = held && ctx.stale(held);
  const snap = await ctx.cluster.snapshot(ctx.name);
  const left = await ctx.cluster.standIns(ctx.name);
  const serves = servesItself(ctx.name, snap.view.labels);
  if (!held && left.length === 0 && serves) return undefined;
  const views = new Map(
    await Promise.all(left.map(async (s) => [s, (await ctx.cluster.snapshot(s)).view.labels] as const)),
  );
  const joined = (s: string) => inUsersBalancer(s, views.get(s) ?? {});
  const labelsFrom = serves ? undefined : left.find(joined);
  const origin = serves ? snap : await originFrom(ctx, labelsFrom);
  const lb = usersBalancer(origin.view.labels);
  if ("refused" in lb) throw new RefusedError(`${ctx.name}: ${lb.refused}; nothing was changed`);
  const image = snap.view.image;
  const onTarget = held?.target.id === image;
  // On the interrupted run's target the labels name it as a stack deploy would; otherwise the
  // service's own labels are those it had before (on a stand-in, or never taken off).
  const final = onTarget && held ? finalLabels(origin.view.labels, held.target.ref) : origin.view.labels;
  const back = held && held.previous.id !== image ? held.previous : undefined;
  return {
    ...(held && gone ? { held, gone } : {}),
    snap,
    left,
    serves,
    joined,
    origin,
    ...(labelsFrom ? { labelsFrom } : {}),
    lb,
    image,
    target: onTarget && held ? held.target : { ref: image, id: image },
    ...(back ? { back } : {}),
    final,
  };
}

/** Undefined: nothing was left to repair. */
export async function repairSwarm(ctx: SwarmRepairContext): Promise<SwarmRollResult | undefined> {
  const started = ctx.clock.now();
  const found = await surveyRepair(ctx);
  if (!found) {
    ctx.say(`${ctx.name} is in Traefik with its own labels, no stand-in and no lock left: nothing to repair`);
    return undefined;
  }
  const { held, gone, snap, left, serves, joined, origin, lb, image, target, back, final } = found;
  if (held && gone && !gone.stale)
    throw new LockHeldError(
      `${ctx.name} is locked by a rollout that still runs (${gone.why}): ${held.command} since ${held.since}`,
      `wait for it to end; if you know it is dead: \`compose-roll lock release ${ctx.svc.service}\`, then repair`,
    );
  const history = await recorded(ctx);
  const info: LockInfo = {
    by: ctx.actor,
    since: new Date(ctx.clock.now()).toISOString(),
    target,
    previous: held?.previous ?? { ref: image, id: image },
    revision: nextRevision(history),
    replicas: snap.view.replicas,
    command: ctx.command,
    ...(ctx.process ? { process: ctx.process } : {}),
    ...(ctx.leaseMs !== undefined ? { leaseMs: ctx.leaseMs } : {}),
  };
  if (held) {
    ctx.say(`taking over the lock of an interrupted ${held.command} (${gone?.why})`);
    await ctx.lock.release(ctx.svc, held);
  }
  const got = await ctx.lock.acquire(ctx.svc, info);
  if (!got.acquired)
    throw new LockHeldError(
      `${ctx.name} was locked again meanwhile: ${got.holder.command} since ${got.holder.since}`,
      "wait for that rollout to end, then repair",
    );
  const lease = ctx.keep?.(info);
  const run = underLease(ctx, lease);
  try {
    let steps = new SwarmSteps(run, origin, lb, image, final);
    steps.interruptible = false;
    steps.adopt(left, joined);
    let ends = image;
    if (serves) {
      await steps.serviceHealthy();
    } else {
      ctx.say(
        `${ctx.name} is out of Traefik; its stand-ins (${left.join(", ")}) serve: putting it back on ${image}`,
      );
      try {
        await steps.replace(true);
      } catch (err) {
        if (!(err instanceof HealthError) || !back || lease?.lost()) throw err;
        ctx.say(`${image} does not become healthy (${err.message}): back to ${back.id}`);
        steps = new SwarmSteps(run, origin, lb, back.id, origin.view.labels);
        steps.interruptible = false;
        steps.adopt(left, joined);
        await steps.replace();
        ends = back.id;
      }
    }
    await steps.putBack();
    if (left.length > 0) await steps.retire();
    // Swarm's one-level rollback (PreviousSpec) must change nothing, as after a rollout.
    await steps.settle();
    if (held) await record(ctx, held, info.revision, ends, history[0]);
    return {
      from: held?.previous.id ?? image,
      to: ends,
      ...(held && ends === held.target.id ? { ref: held.target.ref } : {}),
      revision: held ? info.revision : 0,
      seconds: (ctx.clock.now() - started) / 1000,
      peakTasks: snap.view.replicas + left.length,
    };
  } catch (err) {
    throw lease?.lost() ?? err;
  } finally {
    await lease?.stop();
    // A lost lock is not ours to release any more.
    if (!lease?.lost()) await ctx.lock.release(ctx.svc, info).catch(() => {});
  }
}

/** A stand-in with the users' labels: not taken out, not on its probe router. */
const inUsersBalancer = (s: string, labels: Record<string, string>) =>
  labels["traefik.enable"] !== "false" && servesItself(s, labels);

/** The service's own labels and update config, from a stand-in in the users' balancer. */
async function originFrom(ctx: RepairSurveyContext, s: string | undefined): Promise<SwarmSnapshot> {
  if (s) return ctx.cluster.origin(ctx.name, s);
  throw new RefusedError(
    `${ctx.name} is out of Traefik and no stand-in carries its labels; nothing was changed`,
    "put its labels back with `docker stack deploy` of your compose file, then `compose-roll repair` retires the stand-ins",
  );
}

/** The interrupted run's revision: complete on its target, rolled back otherwise. */
async function record(
  ctx: SwarmRepairContext,
  held: LockInfo,
  number: number,
  ends: string,
  last: Revision | undefined,
): Promise<void> {
  const done = ends === held.target.id;
  await ctx.history
    .record(
      ctx.svc,
      {
        number,
        image: held.target,
        by: ctx.actor,
        at: new Date(ctx.clock.now()).toISOString(),
        result: done ? "complete" : "rolled-back",
        ...(last ? { previous: last.number } : {}),
        previousImage: held.previous,
        reason: `repaired after an interrupted ${held.command}`,
      },
      ctx.historyLimit,
    )
    .catch((err: Error) => ctx.say(`the revision record could not be written: ${err.message}`));
}
