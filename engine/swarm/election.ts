// What a Swarm manager's error means, in one place, and the wait through a leader election.
// Every control call a manager gets (reads too) is forwarded to the Raft leader, so while the
// managers elect one, reads and writes fail alike. swarmkit's own messages for that
// (manager/state/raft/raft.go, daemon/cluster/cluster.go) are what is matched here, on the
// daemon's message whatever status it came with:
//   "raft: failed to process the request: node lost leader status"  a write whose leader stepped down
//   "The swarm does not have a leader. …"   no leader for 10 Raft ticks (10 s at Swarm's default)
//   "raft: no elected cluster leader"       no leader known to this manager
//   "context deadline exceeded"             the call timed out (20 s) waiting for a leader
//   "failed to get connection to leader", "code = Unavailable"   the connection to the leader dropped
//   "Manager is being prepared or has trouble connecting to the cluster"   this manager's Raft restarts
// A write that failed so may still be applied: the old leader may have replicated it before it
// stepped down, and the new one commits it. Callers retry only changes that are idempotent or
// that recognise their own earlier success (a name taken by what they created).
import { EngineError, NoLeaderError } from "../../controller/errors.js";
import type { Clock } from "../../controller/ports.js";
import { call, dockerMessage, statusOf } from "../docker.js";
import { systemClock } from "../health.js";

export type SwarmErrorKind = "no-leader" | "out-of-sequence" | "name-taken" | "gone" | "other";

const NO_LEADER = [
  /node lost leader status/i,
  /swarm does not have a leader/i,
  /no elected cluster leader/i,
  /context deadline exceeded/i,
  /failed to get connection to leader/i,
  /code = (Unavailable|DeadlineExceeded)\b/,
  /manager is being prepared or has trouble connecting to the cluster/i,
];

/** The raw error of a failed call, under the EngineError a `call` wrapped it in. */
const raw = (err: unknown): unknown =>
  err instanceof EngineError && (err as { cause?: unknown }).cause !== undefined
    ? (err as { cause?: unknown }).cause
    : err;

/**
 * What a failed Engine call to a Swarm manager means. Only an answer from the daemon can be an
 * election: a socket or ssh failure has no HTTP status and is never taken for one, nor is a
 * client error (4xx) whatever its message quotes.
 */
export function swarmErrorKind(err: unknown): SwarmErrorKind {
  const e = raw(err);
  const status = statusOf(e);
  const message = dockerMessage(e);
  if (status === 404) return "gone";
  if (status === 409) return "name-taken";
  if (/update out of sequence/i.test(message)) return "out-of-sequence";
  if (status !== undefined && status >= 500 && NO_LEADER.some((r) => r.test(message))) return "no-leader";
  return "other";
}

/**
 * How long a call waits for the managers to elect a leader. An election on Swarm's defaults
 * (ElectionTick 10 × 1 s tick, randomised up to twice that in etcd's Raft, no pre-vote, so a
 * manager rejoining with a higher term forces one) settles within 20 s; 30 s covers that and a
 * second round after a split vote, yet fails well before a rollout's route and health timeouts.
 */
export const ELECTION_WAIT_MS = 30_000;
/** Pauses between tries: soon for a quick election, no faster than a Raft tick after that. */
const BACKOFF_MS = [250, 500, 1000, 2000];

export interface ElectionWait {
  clock: Clock;
  /** Default ELECTION_WAIT_MS. */
  waitMs?: number;
  /** Told once per election waited through. */
  onWait?(what: string, why: string): void;
}

export const electionWait: ElectionWait = { clock: systemClock };

const never = new AbortController().signal;

/**
 * `fn` tried again while the Swarm has no leader, for up to `waitMs` from the first such
 * failure; then NoLeaderError, one line naming what could not be done. `fn(retried)`: whether an
 * earlier try failed so (a write it made may have been applied). Any other failure is thrown as is.
 */
export async function throughElection<T>(
  what: string,
  fn: (retried: boolean) => Promise<T>,
  opts: ElectionWait,
): Promise<T> {
  const waitMs = opts.waitMs ?? ELECTION_WAIT_MS;
  /** When the first try that found no leader started: a call may wait 20 s before it says so. */
  let since: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const started = opts.clock.now();
    try {
      return await fn(since !== undefined);
    } catch (err) {
      if (swarmErrorKind(err) !== "no-leader") throw err;
      const why = dockerMessage(raw(err));
      const now = opts.clock.now();
      if (since === undefined) {
        since = started;
        opts.onWait?.(what, why);
      }
      if (now - since >= waitMs) {
        throw new NoLeaderError(
          `the Swarm has no leader: could not ${what} for ${Math.round((now - since) / 1000)} s (${why})`,
          "wait until `docker node ls` shows a Leader, then run the same command again",
        );
      }
      const pause = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)] ?? 2000;
      await opts.clock.sleep(Math.min(pause, since + waitMs - now), never);
    }
  }
}

/** engine/docker.ts `call` through an election: a read, or a change safe to make twice. */
export const swarmCall = <T>(
  wait: ElectionWait,
  what: string,
  fn: () => Promise<T>,
  hint?: string,
): Promise<T> => throughElection(what, () => call(what, fn, hint), wait);
