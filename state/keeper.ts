// The holder's side of the lease: renew every lease/6 while the rollout runs, and stop the
// rollout (abort `signal`, which makes the controller restore) as soon as the lock is
// known to be lost, or once renewals have failed for half a lease. Half, not a whole one:
// a waiter may break the lock one lease after our last renewal reached the host, and the
// rollout must have stopped changing things well before that (a partitioned holder cannot
// roll back either, but it must not go on rolling forward on a lock someone else holds).
import { LockLostError } from "../controller/errors.js";
import type { Clock, Lock, LockInfo, ServiceRef } from "../controller/ports.js";
import { human } from "./stale.js";

export interface LeaseKeeper {
  /** Aborted (with a LockLostError as reason) when the lock is lost. */
  signal: AbortSignal;
  /** Stops renewing; waits for a renewal in flight, so `release` comes after it. */
  stop(): Promise<void>;
}

export interface KeeperOptions {
  lock: Lock;
  svc: ServiceRef;
  info: LockInfo;
  leaseMs: number;
  clock: Clock;
  say: (line: string) => void;
}

export function keepLease(o: KeeperOptions): LeaseKeeper {
  const lost = new AbortController();
  const stopped = new AbortController();
  const every = Math.max(100, Math.floor(o.leaseMs / 6));
  const lose = (why: string) => {
    if (lost.signal.aborted) return;
    o.say(`lost the lock: ${why}; stopping the rollout and restoring`);
    lost.abort(new LockLostError(`lost the lock of ${o.svc.project}/${o.svc.service}: ${why}`));
  };
  const loop = async () => {
    let lastOk = o.clock.now();
    let failing = false;
    while (!stopped.signal.aborted) {
      try {
        await o.clock.sleep(every, stopped.signal);
      } catch {
        return; // stopped
      }
      const t0 = o.clock.now();
      try {
        if (!(await o.lock.renew(o.svc, o.info))) {
          lose("it was released or taken over by another run (`compose-roll lock status` says by whom)");
          return;
        }
        lastOk = t0;
        if (failing) o.say("lock lease renewed again");
        failing = false;
      } catch (err) {
        const since = o.clock.now() - lastOk;
        if (!failing) o.say(`could not renew the lock lease (${(err as Error).message}); retrying`);
        failing = true;
        // Keep renewing even after giving up: if the host comes back during the restore, the
        // lease stays ours until the restore is done.
        if (since >= o.leaseMs / 2) {
          lose(`its ${human(o.leaseMs)} lease could not be renewed for ${human(since)}`);
        }
      }
    }
  };
  const running = loop();
  return {
    signal: lost.signal,
    stop: async () => {
      stopped.abort();
      await running;
    },
  };
}
