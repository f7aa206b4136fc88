// The holder's side of the lease: renew every lease/6 while the rollout runs, and stop the
// rollout (abort `signal`) as soon as the lock is known to be lost, or once renewals have
// failed for half a lease. Half, not a whole one: a waiter may break the lock one lease after
// our last renewal reached the host, and the rollout must have stopped changing things well
// before that. A lost lock restores nothing: the service may be another run's to drive now,
// and two runs driving one service is the one thing the lock exists to prevent.
//
// Every answer the keeper waits for has a deadline below lease/6 (renewDeadline): a request
// the host never answers (a dropped connection, a hung daemon) counts as a failed renewal,
// so the half-lease rule fires instead of the keeper waiting forever on it.
import { LockLostError } from "../controller/errors.js";
import type { Clock, Lock, LockInfo, ServiceRef } from "../controller/ports.js";
import { human } from "./stale.js";

export interface LeaseKeeper {
  /** Aborted (with a LockLostError as reason) when the lock is lost. */
  signal: AbortSignal;
  /**
   * Called before each change to the service: throws the LockLostError unless the lock is
   * shown to be ours still (its token compared on the host; after a gap in the renewals, a
   * renewal first, as a waiter may have broken a lease that ran out meanwhile).
   */
  fence(): Promise<void>;
  /** The LockLostError, once the lock is lost. */
  lost(): LockLostError | undefined;
  /** Stops renewing; waits (at most one deadline) for a renewal in flight, so `release` comes after it. */
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

/** How long a renewal (or a look at the lock) may take before it counts as failed: lease/8, under the lease/6 pace. */
export function renewDeadline(leaseMs: number): number {
  return Math.max(50, Math.floor(leaseMs / 8));
}

/** "ci@runner-2 (pid 7) since 2026-…, `roll --image app:v3`" */
function holderLine(h: LockInfo | undefined): string {
  if (!h) return "nobody (it was released)";
  const job = h.by.ciJob ? `, ${h.by.ciJob}` : "";
  return `${h.by.user}@${h.by.host} (pid ${h.by.pid}${job}) since ${h.since}, \`${h.command}\``;
}

export function keepLease(o: KeeperOptions): LeaseKeeper {
  const lost = new AbortController();
  const stopped = new AbortController();
  const every = Math.max(100, Math.floor(o.leaseMs / 6));
  const deadline = renewDeadline(o.leaseMs);
  const name = `${o.svc.project}/${o.svc.service}`;
  let lastOk = o.clock.now();
  let inflight: Promise<boolean> | undefined;
  let losing: Promise<void> | undefined;

  const bounded = <T>(work: Promise<T>, what: string): Promise<T> => {
    const done = new AbortController();
    const late = o.clock.sleep(deadline, done.signal).then(() => {
      throw new Error(`the Docker host did not answer ${what} within ${human(deadline)}`);
    });
    return Promise.race([work, late]).finally(() => done.abort());
  };

  // One renewal at a time: a caller arriving while one hangs shares it (and its deadline).
  const renewal = (): Promise<boolean> => {
    const t0 = o.clock.now();
    inflight ??= o.lock
      .renew(o.svc, o.info)
      .then((ok) => {
        if (ok) lastOk = Math.max(lastOk, t0);
        return ok;
      })
      .finally(() => {
        inflight = undefined;
      });
    return bounded(inflight, "a lease renewal");
  };

  const lose = (why: string, ask: boolean): Promise<void> => {
    losing ??= (async () => {
      // Who holds it now, asked only when the host answers (it just said the lock is not ours).
      const holder = ask
        ? await bounded(o.lock.read(o.svc), "who holds the lock").then(
            holderLine,
            (e: Error) => `unknown (${e.message})`,
          )
        : "unknown: the Docker host does not answer";
      const err = new LockLostError(
        `lost the lock of ${name}: ${why}; it is held now by ${holder}`,
        "this run stopped without restoring anything (the service may be another run's now): see `compose-roll status`, then rerun once no other rollout holds the lock",
      );
      o.say(`lost the lock: ${why}; stopping the rollout, restoring nothing`);
      lost.abort(err);
      o.lock.abandon?.(o.svc, err);
    })();
    return losing;
  };
  const takenOver = "it was released or taken over by another run";
  const unrenewed = (since: number, err: unknown) =>
    `its ${human(o.leaseMs)} lease could not be renewed for ${human(since)} (${(err as Error).message})`;

  const loop = async () => {
    let failing = false;
    while (!stopped.signal.aborted && !lost.signal.aborted) {
      try {
        await o.clock.sleep(every, stopped.signal);
      } catch {
        return; // stopped
      }
      if (lost.signal.aborted) return;
      try {
        if (!(await renewal())) return await lose(takenOver, true);
        if (failing) o.say("lock lease renewed again");
        failing = false;
      } catch (err) {
        const since = o.clock.now() - lastOk;
        if (!failing) o.say(`could not renew the lock lease (${(err as Error).message}); retrying`);
        failing = true;
        if (since >= o.leaseMs / 2) await lose(unrenewed(since, err), false);
      }
    }
  };

  const fence = async (): Promise<void> => {
    if (lost.signal.aborted) throw lost.signal.reason;
    const gap = o.clock.now() - lastOk > every + deadline;
    let ours: boolean;
    try {
      ours =
        gap || !o.lock.holds
          ? await renewal()
          : await bounded(o.lock.holds(o.svc), "whether the lock is still ours");
    } catch (err) {
      const since = o.clock.now() - lastOk;
      // Within half a lease of a renewal that reached the host, no waiter may break it yet.
      if (since < o.leaseMs / 2) return;
      ours = false;
      await lose(unrenewed(since, err), false);
    }
    if (!ours) await lose(takenOver, true);
    if (lost.signal.aborted) throw lost.signal.reason;
  };

  const running = loop();
  return {
    signal: lost.signal,
    fence,
    lost: () => (lost.signal.aborted ? (lost.signal.reason as LockLostError) : undefined),
    stop: async () => {
      stopped.abort();
      await running;
    },
  };
}
