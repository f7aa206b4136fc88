// The records kept on the Docker host, and their ports: revisions (History) and the one
// lock per service (Lock). Adapters in state/.
import type { ServiceRef } from "./model.js";

/** Who ran something: recorded with every revision and lock. */
export interface Actor {
  user: string;
  host: string;
  pid: number;
  /** The CI job, when the environment names one (GITHUB_RUN_ID, CI_JOB_URL, …). */
  ciJob?: string;
}

export type RevisionResult = "complete" | "rolled-back" | "failed";

/** One rollout of a service, Kubernetes-style: undo makes a new revision, never rewinds. */
export interface Revision {
  number: number;
  image: { ref: string; id: string };
  by: Actor;
  /** ISO time the rollout started. */
  at: string;
  result: RevisionResult;
  /** The revision it replaced (undefined for the first one compose-roll saw). */
  previous?: number;
  /** The image it replaced, so a rollback target survives a missing earlier record. */
  previousImage?: { ref: string; id: string };
  /**
   * The options that reached this service (traefik-file, traefik-api, traefik-url, network,
   * port, ...), so `undo` on a fresh runner with no files needs only the project name.
   */
  settings?: Record<string, string>;
  /** Why it did not complete (a rolled-back release: the bake's figure, the failed check). */
  reason?: string;
}

/** Revision records, kept on the Docker host so any runner sees the same history. */
export interface History {
  /** Newest first. A damaged record is skipped (and logged), never fatal. */
  list(svc: ServiceRef): Promise<Revision[]>;
  /** Writes one record atomically; keeps the newest `keep` and never drops a record the current one needs. */
  record(svc: ServiceRef, rev: Revision, keep: number): Promise<void>;
}

/** What a lock says about the rollout holding it. */
export interface LockInfo {
  by: Actor;
  /** ISO time it was taken. */
  since: string;
  /** What that rollout is doing: its target and the image it replaces. */
  target: { ref: string; id: string };
  previous: { ref: string; id: string };
  /** The revision number the holder will record. */
  revision: number;
  /** Replicas serving when it started: what a repair restores to. */
  replicas: number;
  command: string;
  /** The holder's process, so a pid is checked only where it means something (state/proc.ts). */
  process?: ProcessTag;
  /**
   * The lease the holder promised to renew within; absent on locks an older compose-roll
   * wrote (they fall back to --lock-stale-after).
   */
  leaseMs?: number;
  /** Observed, never written: how long ago, by the Docker host's clock, the holder last renewed. */
  renewedAgoMs?: number;
}

/** Identifies one process across pid reuse, reboots and pid namespaces. */
export interface ProcessTag {
  /** /proc/<pid>/stat starttime (clock ticks since boot), as text. */
  start: string;
  /** /proc/sys/kernel/random/boot_id. */
  boot: string;
  /** The pid namespace, as readlink /proc/self/ns/pid says it ("pid:[4026531836]"). */
  pidns: string;
}

/** At most one rollout per project and service on a Docker host. */
export interface Lock {
  /** Atomic: of two racing callers exactly one gets true. */
  acquire(
    svc: ServiceRef,
    info: LockInfo,
  ): Promise<{ acquired: true } | { acquired: false; holder: LockInfo }>;
  read(svc: ServiceRef): Promise<LockInfo | undefined>;
  /**
   * Renews the lease of the lock `info` took. False: the lock is no longer ours (released
   * by hand, pruned, or taken over after the lease ran out); throws when it cannot tell.
   */
  renew(svc: ServiceRef, info: LockInfo): Promise<boolean>;
  /** Releases only if the lock still belongs to `info` (same host, pid and since), unless forced. */
  release(svc: ServiceRef, info?: LockInfo): Promise<void>;
  /**
   * Whether the lock this process took is still the one on the host (its token: the lock
   * container's ID, new on every take). Cheaper than renew; without it, renew is used.
   */
  holds?(svc: ServiceRef): Promise<boolean>;
  /**
   * The lock is lost: from now on nothing this process asks of the Docker host may go
   * through (in-flight requests are cut, a dropped ssh connection is not dialled again).
   */
  abandon?(svc: ServiceRef, why: Error): void;
}

/**
 * How a rollout holds its lock, by the rules of the lock's keeper (state/): who this process
 * is, when another holder counts as gone, and renewing the lease while the rollout runs.
 */
export interface LockKeeping {
  /** This process as a lock records it (undefined where that cannot be told). */
  self(): ProcessTag | undefined;
  /** Whether `holder` is gone, as seen by `self` (one line why, either way). */
  stale(
    holder: LockInfo,
    o: { self: Actor; tag?: ProcessTag | undefined; now: Date; staleAfterMs: number },
  ): { stale: boolean; why: string };
  /** For a holder on another host with a lease: how long until it runs out, in words. */
  leaseLeft(holder: LockInfo, self: Actor): string | undefined;
  /** Renews the lease of the lock `info` took until stopped; `signal` aborts when the lock is lost. */
  keep(o: { svc: ServiceRef; info: LockInfo; leaseMs: number; say(line: string): void }): {
    signal: AbortSignal;
    /** Before each change: throws the LockLostError unless the lock is shown to be ours still. */
    fence(): Promise<void>;
    /** The LockLostError (exit 4), once the lock is lost. */
    lost(): Error | undefined;
    stop(): Promise<void>;
  };
}
