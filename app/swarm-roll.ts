// Rolling one Swarm stack service to a new image through stand-in services
// (controller/swarm-rollout.ts has the phases and the rules each wait applies). Every wait reads
// Traefik's API until it lists exactly the servers the next step needs, so a slower provider poll
// only makes the rollout longer. The cluster's lock is held throughout; the outcome is recorded
// in the cluster's history either way.
import {
  LockHeldError,
  NoLeaderError,
  RefusedError,
  RollbackFailedError,
  RolledBackError,
} from "../controller/errors.js";
import type {
  Actor,
  History,
  Lock,
  LockInfo,
  ProcessTag,
  Revision,
  ServiceRef,
} from "../controller/ports.js";
import { nextRevision } from "../controller/revisions.js";
import type { SwarmSnapshot } from "../controller/swarm-ports.js";
import {
  finalLabels,
  recovery,
  type SwarmPhase,
  servesItself,
  usersBalancer,
} from "../controller/swarm-rollout.js";
import { type Lease, underLease } from "./swarm-lease.js";
import { type StepsContext, SwarmSteps } from "./swarm-steps.js";
import { lockedBy, waitForLock } from "./swarm-wait.js";

export interface SwarmRollContext extends StepsContext {
  lock: Lock;
  history: History;
  actor: Actor;
  command: string;
  svc: ServiceRef;
  /** `<stack>_<service>`. */
  name: string;
  historyLimit: number;
  /** This process, so a runner on the same machine can tell when it is gone. */
  process?: ProcessTag;
  /** Whether a holder of the lock is gone (its pid, or its lease): its run was killed. */
  stale?(holder: LockInfo): { stale: boolean; why: string };
  /** The lease this run promises to renew its lock within (written in the lock). */
  leaseMs?: number;
  /** Renews the lease of the lock `info` took until stopped (app/swarm-lease.ts). */
  keep?(info: LockInfo): Lease;
  /** --wait: how long a live holder of the lock is waited for (none: refused at once). */
  waitMs?: number;
}

export interface SwarmRollResult {
  from: string;
  to: string;
  revision: number;
  seconds: number;
  /** Tasks at the peak: the service's and the stand-ins'. */
  peakTasks: number;
  /** It already ran that image with its own labels: nothing was done. */
  unchanged?: true;
  /** A repair that finished the interrupted run: the ref that run rolled to (for the compose file). */
  ref?: string;
}

/**
 * What a rollout to `imageRef` starts from, read before anything changes (a dry run shows it);
 * refused when it cannot start. `unchanged`: it already runs that image with its own labels.
 */
export async function startingPoint(
  ctx: Pick<SwarmRollContext, "cluster" | "name" | "svc">,
  imageRef: string,
) {
  const snap = await ctx.cluster.snapshot(ctx.name);
  const left = await ctx.cluster.standIns(ctx.name);
  const serves = servesItself(ctx.name, snap.view.labels);
  if (left.length > 0 && !serves) {
    throw new RefusedError(
      `${ctx.name} is out of Traefik and ${left.length} stand-in(s) a killed rollout left serve its users (${left.join(", ")}); nothing was changed`,
      `run \`compose-roll repair ${ctx.svc.service}\`: it puts the service back in Traefik and retires the stand-ins`,
    );
  }
  const lb = usersBalancer(snap.view.labels);
  if ("refused" in lb) {
    throw new RefusedError(
      `${ctx.name}: ${lb.refused}`,
      "give the service one traefik.http.services.<name>.loadbalancer.server.port under deploy.labels",
    );
  }
  const image = await ctx.cluster.resolve(imageRef);
  return { snap, left, lb, image, unchanged: image === snap.view.image && left.length === 0 && serves };
}

/**
 * Rolls the service to `imageRef`, recorded (and written into the stack's image label) as `ref`:
 * undo passes the pinned `ref@digest` it goes back to and the tag it was deployed as.
 */
export async function rollSwarm(
  ctx: SwarmRollContext,
  imageRef: string,
  ref = imageRef,
): Promise<SwarmRollResult> {
  const deadline = ctx.clock.now() + (ctx.waitMs ?? 0);
  let waited = false;
  for (;;) {
    waited = await waitForLock(ctx, deadline, waited);
    const taken = await takeAndRoll(ctx, imageRef, ref, deadline);
    if (taken !== "raced") return taken;
    waited = true;
  }
}

/**
 * Reads where the service stands, takes the lock and rolls; "raced": another runner took the
 * lock between the wait and the take, and the wait may go on.
 */
async function takeAndRoll(
  ctx: SwarmRollContext,
  imageRef: string,
  ref: string,
  deadline: number,
): Promise<SwarmRollResult | "raced"> {
  // The rollout's own time: a wait for the lock is not part of it.
  const started = ctx.clock.now();
  const { snap, left, lb, image, unchanged } = await startingPoint(ctx, imageRef);
  if (unchanged) {
    return {
      from: image,
      to: image,
      revision: 0,
      seconds: 0,
      peakTasks: snap.view.replicas,
      unchanged: true,
    };
  }
  const history = await recorded(ctx);
  const info: LockInfo = {
    by: ctx.actor,
    since: new Date(ctx.clock.now()).toISOString(),
    target: { ref, id: image },
    previous: { ref: snap.view.image, id: snap.view.image },
    revision: nextRevision(history),
    replicas: snap.view.replicas,
    command: ctx.command,
    ...(ctx.process ? { process: ctx.process } : {}),
    ...(ctx.leaseMs !== undefined ? { leaseMs: ctx.leaseMs } : {}),
  };
  const got = await ctx.lock.acquire(ctx.svc, info);
  if (!got.acquired) {
    const h = got.holder;
    const gone = ctx.stale?.(h);
    if (!gone?.stale && ctx.clock.now() < deadline) return "raced";
    if (gone?.stale)
      throw new LockHeldError(
        `${ctx.name} is locked by an interrupted rollout (${gone.why}): ${h.command} since ${h.since}`,
        `run \`compose-roll repair ${ctx.svc.service}\`: it converges what that run left and frees the lock`,
      );
    throw lockedBy(ctx, h);
  }
  const record = (result: Revision["result"], reason?: string) =>
    ctx.history
      .record(
        ctx.svc,
        {
          number: info.revision,
          image: info.target,
          by: ctx.actor,
          at: info.since,
          result,
          ...(history[0] ? { previous: history[0].number } : {}),
          previousImage: info.previous,
          ...(reason ? { reason } : {}),
        },
        ctx.historyLimit,
      )
      .catch((err: Error) => ctx.say(`the revision record could not be written: ${err.message}`));
  const lease = ctx.keep?.(info);
  const run = underLease(ctx, lease);
  try {
    const steps = new SwarmSteps(run, snap, lb, image, finalLabels(snap.view.labels, ref));
    if (left.length > 0) {
      // Out of the users' balancer, drained, then removed: the service serves alone meanwhile.
      ctx.say(`retiring ${left.length} stand-in(s) an earlier run left: ${left.join(", ")}`);
      steps.adopt(left);
      await steps.removeStandIns();
    }
    let phase: SwarmPhase = "stand-ins";
    const interrupted = () => {
      if (run.signal?.aborted) throw run.signal.reason;
    };
    try {
      await steps.standIns();
      interrupted();
      phase = "hand-over";
      await steps.handOver();
      interrupted();
      phase = "replace";
      await steps.replace();
      interrupted();
      // From here the new tasks are proven and serving: finishing is the shortest way out.
      steps.interruptible = false;
      phase = "put-back";
      await steps.putBack();
      phase = "retire";
      await steps.retire();
      phase = "settle";
      await steps.settle();
    } catch (err) {
      steps.interruptible = false;
      // Lost: not ours to restore any more.
      const lost = lease?.lost();
      if (lost) throw lost;
      await recover(run, steps, snap, phase, err as Error).catch(async (e: Error) => {
        await record("failed", (err as Error).message);
        if (e instanceof RollbackFailedError) throw e;
        // Something was changed and could not be put back (the Swarm lost its leader again, or
        // Traefik never showed the service back): repair converges from here.
        throw new RollbackFailedError(
          `${ctx.name}: ${phase} failed (${(err as Error).message}), and putting it back failed too: ${e.message}`,
          e,
          [
            `nothing Traefik lists was stopped; run \`compose-roll repair ${ctx.svc.service}\` once the cause above is gone`,
          ],
        );
      });
      await record("rolled-back", (err as Error).message);
      throw new RolledBackError(
        `${ctx.name} stays on ${snap.view.image}: ${(err as Error).message}`,
        err as Error,
      );
    }
    await record("complete");
    return {
      from: snap.view.image,
      to: image,
      revision: info.revision,
      seconds: (ctx.clock.now() - started) / 1000,
      peakTasks: 2 * snap.view.replicas,
    };
  } catch (err) {
    throw lease?.lost() ?? err;
  } finally {
    await lease?.stop();
    // A lost lock is not ours to release any more.
    if (!lease?.lost()) await ctx.lock.release(ctx.svc, info).catch(() => {});
  }
}

/**
 * The service's revisions; none when they cannot be read (a damaged store must not stop a
 * rollout), except through a Swarm without a leader, which nothing could change either.
 */
export async function recorded(ctx: {
  history: Pick<History, "list">;
  svc: ServiceRef;
}): Promise<Revision[]> {
  return ctx.history.list(ctx.svc).catch((err: Error) => {
    if (err instanceof NoLeaderError) throw err;
    return [] as Revision[];
  });
}

async function recover(
  ctx: SwarmRollContext,
  steps: SwarmSteps,
  snap: SwarmSnapshot,
  phase: SwarmPhase,
  err: Error,
): Promise<void> {
  const what = recovery(phase);
  ctx.say(`${phase} failed: ${err.message}`);
  if (what === "finish") {
    // The new image is proven and serving: a rerun finishes what is left.
    throw new RollbackFailedError(
      `${ctx.name} runs ${phase === "put-back" ? "out of Traefik or beside stand-ins" : "beside stand-ins"} after ${phase} failed: ${err.message}`,
      err,
      [`run the same command again to finish, or remove the ${STAND_IN_HINT}`],
    );
  }
  if (what === "restore-service") await steps.restoreService();
  await steps.removeStandIns();
  if (what === "restore-service") await ctx.cluster.resubmit(snap.view.name);
}

const STAND_IN_HINT =
  "services labelled compose-roll.stand-in (`docker service ls --filter label=compose-roll.stand-in`)";
