// The service's lock on the Docker host, as a rollout takes it: what it says (the service
// as it runs now, the revision this run will record), waiting for a live holder, and taking
// over a stale one. deploy.ts holds it for the whole rollout.

import { LockHeldError, RefusedError } from "../controller/errors.js";
import type { ImageInfo } from "../controller/model.js";
import type { LockInfo, Revision } from "../controller/ports.js";
import { current, historyLost, nextRevision } from "../controller/revisions.js";
import { observe, replicaCount } from "../controller/rollout.js";
import type { AppContext } from "./context.js";

export type LockContext = Pick<
  AppContext,
  "deps" | "svc" | "history" | "lock" | "keeping" | "actor" | "opts" | "say"
>;

export function describeLock(l: LockInfo): string {
  const job = l.by.ciJob ? ` (${l.by.ciJob})` : "";
  return `${l.command} by ${l.by.user}@${l.by.host} pid ${l.by.pid}${job} since ${l.since}, rolling to ${l.target.ref}`;
}

function lockHeld(ctx: LockContext, holder: LockInfo): LockHeldError {
  const left = ctx.keeping.leaseLeft(holder, ctx.actor);
  const lease = left !== undefined ? `; if that run is dead, its lease runs out in ${left} (then rerun)` : "";
  return new LockHeldError(
    `${ctx.svc.project}/${ctx.svc.service} is locked: ${describeLock(holder)}`,
    `wait for it (--wait 10m)${lease}; a human who knows that run is dead: \`compose-roll lock release\``,
  );
}

/**
 * Takes the lock, waiting up to --wait. Taking over a stale lock adopts the killed run's
 * `previous` and `replicas` into our own lock, so a second kill is just as recoverable.
 */
export async function takeLock(
  ctx: LockContext,
  info: LockInfo,
): Promise<{ mine: LockInfo; stale?: LockInfo; waited: boolean }> {
  const deadline = ctx.deps.clock.now() + ctx.opts.waitMs;
  const never = new AbortController().signal;
  for (let announced = false; ; ) {
    const got = await ctx.lock.acquire(ctx.svc, info);
    if (got.acquired) return { mine: info, waited: announced };
    const holder = got.holder;
    const stale = ctx.keeping.stale(holder, {
      self: ctx.actor,
      tag: info.process,
      now: new Date(ctx.deps.clock.now()),
      staleAfterMs: ctx.opts.lockStaleMs,
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

export async function readHistory(ctx: LockContext): Promise<Revision[]> {
  return ctx.history.list(ctx.svc).catch((err: Error) => {
    ctx.say(`history unreadable (${err.message}); continuing without it`);
    return [] as Revision[];
  });
}

/** What the lock will say: the service as it runs now, and the revision this run will record. */
export async function lockInfo(ctx: LockContext, image: ImageInfo, command: string): Promise<LockInfo> {
  const tag = ctx.keeping.self();
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
    target: { ref: image.ref, id: image.id },
    previous: now.image,
    revision: nextRevision(history),
    // What the rollout restores to (exited containers counted), not only the running ones.
    replicas: replicaCount(obs),
    command,
    ...(tag ? { process: tag } : {}),
    leaseMs: ctx.opts.lockLeaseMs,
  };
}

/**
 * Takes the lock for a rollout to `image`. Having waited, another rollout ran meanwhile:
 * what the lock says was read before it. Read again under the lock; if the service moved,
 * take the lock again with the truth, or a kill now would "recover" to an image that is no
 * longer the previous one.
 */
export async function lockFor(
  ctx: LockContext,
  image: ImageInfo,
  command: string,
): Promise<{ mine: LockInfo; stale?: LockInfo }> {
  let info = await lockInfo(ctx, image, command);
  let { mine, stale, waited } = await takeLock(ctx, info);
  while (waited && !stale) {
    const fresh = await lockInfo(ctx, image, command);
    const same =
      fresh.previous.id === info.previous.id &&
      fresh.replicas === info.replicas &&
      fresh.revision === info.revision;
    if (same) break;
    await ctx.lock.release(ctx.svc, mine);
    info = fresh;
    ({ mine, stale, waited } = await takeLock(ctx, info));
  }
  return { mine, ...(stale ? { stale } : {}) };
}
