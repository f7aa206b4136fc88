// Pure: whether a lock was left behind by a rollout that is gone. Errs towards "not stale":
// breaking a live lock lets two rollouts fight over one service, while keeping a dead one
// only costs a wait (at most one lease) or a `compose-roll lock release`.
import type { Actor, LockInfo, ProcessTag } from "../controller/ports.js";
import { samePidSpace } from "./proc.js";

export interface Staleness {
  stale: boolean;
  /** One line for the user, either way. */
  why: string;
}

export interface Observer {
  /** Who asks. */
  self: Actor;
  /** The asker's process tag (undefined without /proc). */
  tag?: ProcessTag | undefined;
  /** The runner's clock: only for locks without a lease. */
  now: Date;
  /** Whether a pid (started at `start`, when known) is a live process on this machine. */
  alive: (pid: number, start?: string) => boolean;
  /** Locks an older compose-roll wrote (no lease): stale after this long, from another host. */
  staleAfterMs: number;
}

/**
 * - Holder on this machine (same host name, boot and pid namespace): stale exactly when its
 *   process is gone (exited, a zombie, or its pid reused); alive is never stale, however old.
 * - Holder elsewhere, with a lease: stale when it has not renewed for longer than the lease
 *   it promised, measured on the Docker host's clock (so no runner's clock skew matters).
 * - Holder elsewhere, without a lease (an older compose-roll): older than `staleAfterMs`.
 */
export function isStale(lock: LockInfo, o: Observer): Staleness {
  const who = describe(lock);
  if (lock.by.host === o.self.host && samePidSpace(lock.process, o.tag)) {
    if (!o.alive(lock.by.pid, lock.process?.start)) {
      return { stale: true, why: `${who}: pid ${lock.by.pid} is no longer running on this host` };
    }
    return { stale: false, why: `${who}: pid ${lock.by.pid} is still running on this host` };
  }
  const where =
    lock.by.host === o.self.host ? "in another container or boot of this host" : "on another host";
  if (lock.leaseMs !== undefined) {
    const ago = lock.renewedAgoMs;
    if (ago === undefined) return { stale: false, why: `${who}: its lease cannot be read` };
    if (ago > lock.leaseMs) {
      return {
        stale: true,
        why: `${who}: ${where}, last renewed its ${human(lock.leaseMs)} lease ${human(ago)} ago`,
      };
    }
    return {
      stale: false,
      why: `${who}: ${where}, renewed its ${human(lock.leaseMs)} lease ${human(Math.max(0, ago))} ago`,
    };
  }
  const age = o.now.getTime() - Date.parse(lock.since);
  if (Number.isNaN(age)) {
    return { stale: false, why: `${who}: its start time "${lock.since}" cannot be read` };
  }
  if (age > o.staleAfterMs) {
    return {
      stale: true,
      why: `${who}: taken ${human(age)} ago, more than the ${human(o.staleAfterMs)} limit (a lock without a lease)`,
    };
  }
  return {
    stale: false,
    why: `${who}: taken ${human(Math.max(0, age))} ago ${where}, within the ${human(o.staleAfterMs)} limit (a lock without a lease)`,
  };
}

function describe(lock: LockInfo): string {
  const job = lock.by.ciJob ? ` (${lock.by.ciJob})` : "";
  return `lock held by ${lock.by.user}@${lock.by.host} pid ${lock.by.pid}${job}`;
}

export function human(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 60_000)}min`;
}
