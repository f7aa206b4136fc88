// Named errors, each with the one exit code it maps to. EXIT_CODES is the single place exit
// codes are decided; `--help`, docs/exit-codes.md and README's table are generated from it.

export class ComposeRollError extends Error {
  override name = "ComposeRollError";
  /** One line telling the user what to do next. */
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** Bad input or a failed preflight: nothing was changed. */
export class RefusedError extends ComposeRollError {
  override name = "RefusedError";
}

/** Another rollout holds the service's lock. */
export class LockHeldError extends ComposeRollError {
  override name = "LockHeldError";
}

/** A new container never became healthy: unhealthy, exited, or timed out. */
export class HealthError extends ComposeRollError {
  override name = "HealthError";
}

/** The bake saw the new replicas do worse on real traffic than the old ones in the same seconds. */
export class BakeError extends ComposeRollError {
  override name = "BakeError";
}

/** Traefik did not take, or could not reach, a server in time. */
export class RoutingError extends ComposeRollError {
  override name = "RoutingError";
}

/** A Docker Engine call failed. */
export class EngineError extends ComposeRollError {
  override name = "EngineError";
}

/**
 * The Swarm had no leader for longer than compose-roll waits for an election: its managers
 * could neither read nor change the cluster. Raised only before the first change; a rollout
 * under way restores what it changed (exit 5) or, if that fails too, says so (exit 7).
 */
export class NoLeaderError extends EngineError {
  override name = "NoLeaderError";
}

/** compose-roll was asked to stop (SIGINT, SIGTERM). */
export class AbortedError extends ComposeRollError {
  override name = "AbortedError";
}

/**
 * The rollout's lock was lost (released by hand, pruned, taken over, or unrenewable for half a
 * lease): it stops driving at once and restores nothing, as the service may be another run's now.
 */
export class LockLostError extends AbortedError {
  override name = "LockLostError";
}

/** The rollout failed and the previous state was fully restored. */
export class RolledBackError extends ComposeRollError {
  override name = "RolledBackError";
  constructor(
    message: string,
    override readonly cause: Error,
  ) {
    super(message);
  }
}

/** The rollout failed and restoring failed too: a human must look. */
export class RollbackFailedError extends ComposeRollError {
  override name = "RollbackFailedError";
  constructor(
    message: string,
    override readonly cause: Error,
    /** The exact state observed after the failed restore, one line per container/server. */
    readonly state: string[],
  ) {
    super(message);
  }
}

/**
 * A pre-deploy step failed before any container changed: the hook (a migration) exited
 * non-zero, timed out or was interrupted, or the migration gate refused what it would apply.
 */
export class PreDeployError extends ComposeRollError {
  override name = "PreDeployError";
}

/** The rollout completed, but the post-deploy hook failed: reported, nothing rolled back. */
export class PostDeployError extends ComposeRollError {
  override name = "PostDeployError";
}

/** One exit code: its number, name, the error it comes from, and what the user does next. */
export interface ExitRow {
  readonly code: number;
  readonly name: string;
  /** The error class it maps from; none for success and the catch-all. */
  readonly error?: abstract new (
    ...args: never[]
  ) => Error;
  /** For --help: a few words. */
  readonly short: string;
  readonly meaning: string;
  readonly next: string;
}

/**
 * Every exit code, in order. exitCodeFor() takes the first row whose error matches, so a
 * subclass (LockLostError, an AbortedError) comes before any rule its parent would match.
 */
export const EXIT_CODES = [
  {
    code: 0,
    name: "ok",
    short: "done",
    meaning: "done: rolled out (or already on that image), or the command did what it was asked",
    next: "nothing",
  },
  {
    code: 1,
    name: "unexpected",
    short: "unexpected error",
    meaning: "an error compose-roll has no name for: a bug, or a failure it did not foresee",
    next: "run `compose-roll status`; report it with the output of the same command with `--verbose`",
  },
  {
    code: 2,
    name: "refused",
    error: RefusedError,
    short: "refused (nothing changed)",
    meaning:
      "refused before any change: bad input (a usage error too), Docker or Traefik unreachable, service not found or not rollable, image not pullable",
    next: "fix what the `what to do:` line names, and run the command again",
  },
  {
    code: 3,
    name: "lockHeld",
    error: LockHeldError,
    short: "lock held",
    meaning:
      "another rollout holds the service's lock, or the lock of a Traefik file it writes (the message names who, where, since when, to what); nothing changed",
    next: "wait for it (`--wait <duration>`), or see who holds it with `compose-roll lock status`",
  },
  {
    code: 4,
    name: "lockLost",
    error: LockLostError,
    short: "lock lost to another run",
    meaning:
      "this run lost its lock (renewals failed past half the lease, or another run took it over); it stopped driving the service and restored nothing, since the holder named in the message owns it now",
    next: "run `compose-roll status` to see the service as the other run leaves it",
  },
  {
    code: 5,
    name: "rolledBack",
    error: RolledBackError,
    short: "rolled back (still serving the previous image)",
    meaning:
      "the new image failed (health, crash, routing, Docker error), or the run was stopped (SIGINT, SIGTERM), and everything was restored: the previous image serves, all replicas in Traefik",
    next: "read why the new image failed (the line above), fix it, and roll again",
  },
  {
    code: 6,
    name: "preDeployFailed",
    error: PreDeployError,
    short: "pre-deploy hook or migration gate failed (nothing changed)",
    meaning:
      "the pre-deploy hook failed (non-zero exit, timeout, signal, Docker error) or the migration gate refused a pending migration; containers, Traefik file and compose files are as before",
    next: "fix the migration or the hook, or pass `--migration-gate warn` / `--allow-breaking` on purpose",
  },
  {
    code: 7,
    name: "rollbackFailed",
    error: RollbackFailedError,
    short: "rollback failed (see the state printed)",
    meaning:
      "the restore failed too (Traefik's API or file, or the Docker host, unreachable); the state is printed line by line and the lock is kept",
    next: "fix what failed, then run `compose-roll repair`, which resumes from the kept lock",
  },
  {
    code: 8,
    name: "postDeployFailed",
    error: PostDeployError,
    short: "post-deploy hook failed",
    meaning: "the rollout completed, but the post-deploy hook failed; nothing was rolled back",
    next: "fix and rerun the post-deploy step by hand; the new image serves",
  },
  {
    code: 9,
    name: "noLeader",
    error: NoLeaderError,
    short: "the Swarm has no leader (nothing changed)",
    meaning:
      "the Swarm's managers had no leader (an election, or too few managers online) for longer than compose-roll waits for one; it changed nothing, or a repair stopped before its next change",
    next: "wait until `docker node ls` shows a Leader, then run the same command again",
  },
] as const satisfies readonly ExitRow[];

type Row = (typeof EXIT_CODES)[number];
export const ExitCode = Object.fromEntries(EXIT_CODES.map((r) => [r.name, r.code])) as {
  readonly [R in Row as R["name"]]: R["code"];
};

export function exitCodeFor(err: unknown): number {
  for (const row of EXIT_CODES as readonly ExitRow[]) {
    if (row.error && err instanceof row.error) return row.code;
  }
  return ExitCode.unexpected;
}
