// `--wait` on a Swarm: a second pipeline that finds a live rollout holding the cluster's lock
// waits for it, as on one host, instead of failing the job. The lock is looked at before where
// the service stands: a live holder's stand-ins make the service look like a killed rollout's,
// which a rollout refuses (exit 2, "run repair"), when the truth is "locked" (exit 3, wait).
import { LockHeldError } from "../controller/errors.js";
import type { Clock, Lock, LockInfo, ServiceRef } from "../controller/ports.js";
import { describeLock } from "./lock.js";

export interface LockWaitContext {
  lock: Lock;
  svc: ServiceRef;
  /** `<stack>_<service>`. */
  name: string;
  clock: Clock;
  say(line: string): void;
  /** Whether a holder is gone (killed): not waited for, its lock is repair's to take over. */
  stale?(holder: LockInfo): { stale: boolean; why: string };
  /** --wait: how long a live holder is waited for (none: refused at once). */
  waitMs?: number;
}

/** Exit 3: a live rollout holds the lock, and --wait (if any) ran out. */
export function lockedBy(ctx: LockWaitContext, h: LockInfo): LockHeldError {
  const waited = ctx.waitMs ? ` (waited ${Math.round(ctx.waitMs / 1000)} s)` : "";
  return new LockHeldError(
    `${ctx.name} is locked: ${describeLock(h)}${waited}`,
    `wait for that rollout (--wait 10m); if it is dead: \`compose-roll lock release ${ctx.svc.service}\`, then roll again`,
  );
}

/**
 * Returns once nobody holds the lock or its holder is gone; throws lockedBy() when a live
 * holder still has it at `deadline` (on ctx.clock). Says once that it waits; true when it did.
 */
export async function waitForLock(ctx: LockWaitContext, deadline: number, waited: boolean): Promise<boolean> {
  const never = new AbortController().signal;
  for (let announced = waited; ; ) {
    const holder = await ctx.lock.read(ctx.svc);
    if (!holder || ctx.stale?.(holder).stale) return announced;
    const left = deadline - ctx.clock.now();
    if (left <= 0) throw lockedBy(ctx, holder);
    if (!announced) ctx.say(`waiting for the lock: ${describeLock(holder)}`);
    announced = true;
    await ctx.clock.sleep(Math.min(1000, left), never);
  }
}
