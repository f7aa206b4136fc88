// Pure: whether a lock was left behind by a rollout that is gone. Errs towards "not stale":
// breaking a live lock lets two rollouts fight over one service, while keeping a dead one
// only costs a `compose-roll lock release`.
import type { Actor, LockInfo } from "../controller/ports.js";

export interface Staleness {
  stale: boolean;
  /** One line for the user, either way. */
  why: string;
}

/**
 * Stale when the holder ran on this host and its pid is gone, or when it ran elsewhere (where
 * its pid means nothing to us) and is older than `maxAgeMs`. A holder on this host whose pid
 * is alive is never stale, however old: it may be a slow rollout, and its age proves nothing.
 */
export function isStale(
  lock: LockInfo,
  self: Actor,
  now: Date,
  alive: (pid: number) => boolean,
  maxAgeMs: number,
): Staleness {
  const who = describe(lock);
  if (lock.by.host === self.host) {
    if (!alive(lock.by.pid)) {
      return { stale: true, why: `${who}: pid ${lock.by.pid} is no longer running on this host` };
    }
    return { stale: false, why: `${who}: pid ${lock.by.pid} is still running on this host` };
  }
  const age = now.getTime() - Date.parse(lock.since);
  if (Number.isNaN(age)) {
    return { stale: false, why: `${who}: its start time "${lock.since}" cannot be read` };
  }
  if (age > maxAgeMs) {
    return {
      stale: true,
      why: `${who}: taken ${minutes(age)} ago, more than the ${minutes(maxAgeMs)} limit`,
    };
  }
  return {
    stale: false,
    why: `${who}: taken ${minutes(Math.max(0, age))} ago on another host, within the ${minutes(maxAgeMs)} limit`,
  };
}

function describe(lock: LockInfo): string {
  const job = lock.by.ciJob ? ` (${lock.by.ciJob})` : "";
  return `lock held by ${lock.by.user}@${lock.by.host} pid ${lock.by.pid}${job}`;
}

function minutes(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 60_000)}min`;
}

/** Whether a process exists on this machine. EPERM: it exists but belongs to someone else. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
