// Named errors, each with the one exit code it maps to. The table in exitCodeFor() is
// the single place exit codes are decided; README documents the same table.

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

/** Traefik did not take, or could not reach, a server in time. */
export class RoutingError extends ComposeRollError {
  override name = "RoutingError";
}

/** A Docker Engine call failed. */
export class EngineError extends ComposeRollError {
  override name = "EngineError";
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

export const ExitCode = {
  ok: 0,
  unexpected: 1,
  refused: 2,
  lockHeld: 3,
  lockLost: 4,
  rolledBack: 5,
  preDeployFailed: 6,
  rollbackFailed: 7,
  postDeployFailed: 8,
} as const;

export function exitCodeFor(err: unknown): number {
  // Before anything an AbortedError would map to: LockLostError is one.
  if (err instanceof LockLostError) return ExitCode.lockLost;
  if (err instanceof RefusedError) return ExitCode.refused;
  if (err instanceof LockHeldError) return ExitCode.lockHeld;
  if (err instanceof RolledBackError) return ExitCode.rolledBack;
  if (err instanceof RollbackFailedError) return ExitCode.rollbackFailed;
  if (err instanceof PreDeployError) return ExitCode.preDeployFailed;
  if (err instanceof PostDeployError) return ExitCode.postDeployFailed;
  return ExitCode.unexpected;
}
