// A rollout as one revision: take the service's lock on the Docker host, work out the
// target (a new image, `undo`'s previous revision, or `repair`'s last good image), resume
// a killed run when its stale lock says one was interrupted, roll, record the revision,
// release the lock. The rollout itself is the controller's; this file only orchestrates.
import { LockHeldError, RefusedError, RollbackFailedError, RolledBackError } from "../controller/errors.js";
import type { ImageInfo } from "../controller/model.js";
import type {
  Actor,
  Clock,
  History,
  Lock,
  LockInfo,
  Revision,
  RevisionResult,
  ServiceRef,
} from "../controller/ports.js";
import { current, historyLost, nextRevision } from "../controller/revisions.js";
import {
  baseline,
  type Deps,
  observe,
  type Recovery,
  type RolloutRequest,
  type RolloutResult,
  replicaCount,
  rollout,
} from "../controller/rollout.js";
import { systemClock } from "../engine/index.js";
import { human, isStale, keepLease, pidAlive, selfTag } from "../state/index.js";

export interface DeployContext {
  deps: Deps;
  svc: ServiceRef;
  history: History;
  lock: Lock;
  actor: Actor;
  /** How long to wait for a held lock (0: fail at once with exit 3). */
  waitMs: number;
  /** A lock without a lease (an older compose-roll's) from another host is stale after this. */
  staleMs: number;
  /** The lease this run promises to renew its lock within (--lock-lease). */
  leaseMs: number;
  /**
   * Paces the renewals (default: real time). Not deps.clock: a test's clock that jumps
   * ahead on every sleep would make the renewal loop spin and age the rollout with it.
   */
  leaseClock?: Clock;
  keep: number;
  settings: Record<string, string>;
  say: (line: string) => void;
}

export interface DeployRequest {
  /** What to roll to; resolved by the caller (new image, undo target or repair target). */
  image: ImageInfo;
  command: string;
  maxSurge: number;
  timeouts: { healthMs: number; routeMs: number; drainMs: number };
  signal: AbortSignal;
  /** Extra labels for the new image's containers (compose's config hash). */
  labels?: Record<string, string>;
  /** Test-only: SIGKILL ourselves before step k (COMPOSE_ROLL_TEST_KILL_AT_STEP). */
  killAtStep?: number;
  /**
   * Runs under the lock before any container changes (the pre-deploy hook: migrations).
   * A throw ends the deploy with nothing changed; no revision is recorded.
   */
  before?: (signal: AbortSignal) => Promise<void>;
  /** Checks a new replica must pass before it is routed (RolloutRequest.check). */
  check?: RolloutRequest["check"];
}

/**
 * Takes the lock, waiting up to `waitMs`. Taking over a stale lock adopts the killed run's
 * `previous` and `replicas` into our own lock, so a second kill is just as recoverable.
 */
async function takeLock(
  ctx: DeployContext,
  info: LockInfo,
): Promise<{ mine: LockInfo; stale?: LockInfo; waited: boolean }> {
  const deadline = ctx.deps.clock.now() + ctx.waitMs;
  const never = new AbortController().signal;
  for (let announced = false; ; ) {
    const got = await ctx.lock.acquire(ctx.svc, info);
    if (got.acquired) return { mine: info, waited: announced };
    const holder = got.holder;
    const stale = isStale(holder, {
      self: ctx.actor,
      tag: info.process,
      now: new Date(ctx.deps.clock.now()),
      alive: pidAlive,
      staleAfterMs: ctx.staleMs,
    });
    if (stale.stale) {
      ctx.say(`taking over a stale lock: ${describeLock(holder)} (${stale.why})`);
      await ctx.lock.release(ctx.svc, holder);
      const mine = { ...info, previous: holder.previous, replicas: holder.replicas };
      const again = await ctx.lock.acquire(ctx.svc, mine);
      if (again.acquired) return { mine, stale: holder, waited: announced };
      throw lockHeld(ctx, again.holder);
    }
    if (ctx.deps.clock.now() >= deadline) throw lockHeld(ctx, holder);
    if (!announced) ctx.say(`waiting for the lock: ${describeLock(holder)}`);
    announced = true;
    await ctx.deps.clock.sleep(Math.min(1000, Math.max(0, deadline - ctx.deps.clock.now())), never);
  }
}

export function describeLock(l: LockInfo): string {
  const job = l.by.ciJob ? ` (${l.by.ciJob})` : "";
  return `${l.command} by ${l.by.user}@${l.by.host} pid ${l.by.pid}${job} since ${l.since}, rolling to ${l.target.ref}`;
}

function lockHeld(ctx: DeployContext, holder: LockInfo): LockHeldError {
  const { leaseMs, renewedAgoMs } = holder;
  const lease =
    leaseMs !== undefined && renewedAgoMs !== undefined && holder.by.host !== ctx.actor.host
      ? `; if that run is dead, its lease runs out in ${human(Math.max(0, leaseMs - renewedAgoMs))} (then rerun)`
      : "";
  return new LockHeldError(
    `${ctx.svc.project}/${ctx.svc.service} is locked: ${describeLock(holder)}`,
    `wait for it (--wait 10m)${lease}; a human who knows that run is dead: \`compose-roll lock release\``,
  );
}

async function readHistory(ctx: DeployContext): Promise<Revision[]> {
  return ctx.history.list(ctx.svc).catch((err: Error) => {
    ctx.say(`history unreadable (${err.message}); continuing without it`);
    return [] as Revision[];
  });
}

/** What the lock will say: the service as it runs now, and the revision this run will record. */
async function lockInfo(ctx: DeployContext, req: DeployRequest): Promise<LockInfo> {
  const tag = selfTag();
  const obs = await observe(ctx.deps, ctx.svc);
  const now = current(obs);
  if (!now.image) {
    throw new RefusedError(
      `service ${ctx.svc.service} of project ${ctx.svc.project} has no running containers`,
      "start it with `docker compose up -d`, then run `compose-roll sync`",
    );
  }
  const history = await readHistory(ctx);
  const lost = historyLost(ctx.svc, obs, history);
  if (lost) ctx.say(lost);
  return {
    by: ctx.actor,
    since: new Date(ctx.deps.clock.now()).toISOString(),
    target: { ref: req.image.ref, id: req.image.id },
    previous: now.image,
    revision: nextRevision(history),
    // What the rollout restores to (exited containers counted), not only the running ones.
    replicas: replicaCount(obs),
    command: req.command,
    ...(tag ? { process: tag } : {}),
    leaseMs: ctx.leaseMs,
  };
}

export async function deploy(ctx: DeployContext, req: DeployRequest): Promise<RolloutResult> {
  const { deps, svc } = ctx;
  let info = await lockInfo(ctx, req);
  let { mine, stale, waited } = await takeLock(ctx, info);
  // Having waited, another rollout ran meanwhile: what the lock says was read before it.
  // Read again under the lock; if the service moved, take the lock again with the truth,
  // or a kill now would "recover" to an image that is no longer the previous one.
  while (waited && !stale) {
    const fresh = await lockInfo(ctx, req);
    const same =
      fresh.previous.id === info.previous.id &&
      fresh.replicas === info.replicas &&
      fresh.revision === info.revision;
    if (same) break;
    await ctx.lock.release(svc, mine);
    info = fresh;
    ({ mine, stale, waited } = await takeLock(ctx, info));
  }
  // A failed restore keeps the lock: it records what was replaced and at what capacity, so
  // `compose-roll repair` (or the next run) takes it over once this process is gone and
  // converges from it, as after a kill. Released, the record would be lost with the state mixed.
  let keep = false;
  const lease = keepLease({
    lock: ctx.lock,
    svc,
    info: mine,
    leaseMs: ctx.leaseMs,
    clock: ctx.leaseClock ?? systemClock,
    say: ctx.say,
  });
  const signal = AbortSignal.any([req.signal, lease.signal]);
  try {
    if (req.before) {
      // What the rollout would refuse (Traefik's file out of step, mixed images) is refused
      // before the hook: a migration must not run for a rollout that then never starts.
      if (!stale) baseline(await observe(deps, svc), svc, { dead: true });
      await req.before(signal);
    }
    // Numbered under the lock, so no other run can record the same number meanwhile.
    let history = await readHistory(ctx);
    if (history.length === 0 && !stale) history = await recordStart(ctx, mine);
    const number = nextRevision(history);
    let recovery: Recovery | undefined;
    if (stale) {
      // The killed run's view: what it replaced and at what capacity.
      const previous = await deps.engine.image(stale.previous.id);
      if (!previous) {
        throw new RefusedError(
          `the interrupted rollout replaced ${stale.previous.ref}, which is no longer on the host`,
          "roll forward to an image that is there: compose-roll <service> --image <ref>",
        );
      }
      recovery = { previous, replicas: stale.replicas };
      ctx.say(`resuming after an interrupted ${stale.command}: ${stale.previous.ref} → ${stale.target.ref}`);
    }
    const from = recovery ? { ref: recovery.previous.ref, id: recovery.previous.id } : mine.previous;
    const rev: Revision = {
      number,
      image: { ref: req.image.ref, id: req.image.id },
      by: ctx.actor,
      at: mine.since,
      result: "failed",
      ...(history[0] ? { previous: history[0].number } : {}),
      previousImage: from,
      settings: ctx.settings,
    };
    let killAt = 0;
    const result = await rollout(
      deps,
      {
        svc,
        image: req.image,
        maxSurge: req.maxSurge,
        timeouts: req.timeouts,
        signal,
        labels: {
          ...req.labels,
          "com.compose-roll.revision": String(number),
          "com.compose-roll.previous-image-ref": from.ref,
          "com.compose-roll.previous-image-id": from.id,
        },
        ...(req.check ? { check: req.check } : {}),
        beforeStep: () => {
          if (req.killAtStep !== undefined && ++killAt === req.killAtStep)
            process.kill(process.pid, "SIGKILL");
        },
      },
      recovery,
    ).catch(async (err: unknown) => {
      const result: RevisionResult = err instanceof RolledBackError ? "rolled-back" : "failed";
      if (err instanceof RolledBackError || err instanceof RollbackFailedError)
        await record(ctx, { ...rev, result });
      keep = err instanceof RollbackFailedError;
      throw err;
    });
    if (result.result === "complete") await record(ctx, { ...rev, result: "complete" });
    return result;
  } finally {
    await lease.stop();
    if (keep) ctx.say("keeping the rollout lock: `compose-roll repair` resumes from it");
    else
      await ctx.lock
        .release(svc, mine)
        .catch((err: Error) => ctx.say(`could not release the lock: ${err.message}`));
  }
}

/**
 * The first rollout of a service records what it found running, by name and ID, as
 * revision 1: the record pins that image on the host, so `undo` can always go back to it.
 */
async function recordStart(ctx: DeployContext, mine: LockInfo): Promise<Revision[]> {
  const start: Revision = {
    number: 1,
    image: mine.previous,
    by: ctx.actor,
    at: mine.since,
    result: "complete",
    settings: ctx.settings,
  };
  await record(ctx, start);
  return [start];
}

/** A failed write of the history must not turn a good rollout into a failure. */
async function record(ctx: DeployContext, rev: Revision): Promise<void> {
  await ctx.history
    .record(ctx.svc, rev, ctx.keep)
    .catch((err: Error) => ctx.say(`could not record revision ${rev.number}: ${err.message}`));
}
