// Replica counts, pure: how many replicas a rollout converges to, and the bounds the loop keeps
// while it changes both the image and the count. Kubernetes' deployment controller with
// maxUnavailable fixed at 0: never fewer serving than both the old and the new count allow,
// never more containers in Traefik or booting than the larger of the two plus the surge (a
// draining one is out of Traefik, finishing its requests, like Kubernetes' terminating pods).
import { RefusedError } from "./errors.js";
import type { Goal } from "./model.js";

export interface ReplicaTarget {
  replicas: number;
  /** Where the number came from, for the dry run and the one-line refusals. */
  source: "--scale" | "deploy.replicas" | "running";
}

/**
 * `--scale` wins, then the files' `deploy.replicas` (or `scale:`), else as many as there are.
 * Zero is refused: a service with no replica serves nobody, that is `docker compose stop`.
 */
export function replicaTarget(o: { running: number; scale?: number; declared?: number }): ReplicaTarget {
  const [replicas, source]: [number, ReplicaTarget["source"]] =
    o.scale !== undefined
      ? [o.scale, "--scale"]
      : o.declared !== undefined
        ? [o.declared, "deploy.replicas"]
        : [o.running, "running"];
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new RefusedError(
      `${source} asks for ${replicas} replicas; a rolled service keeps at least one serving`,
      "give 1 or more (`docker compose stop <service>` takes a service down)",
    );
  }
  return { replicas, source };
}

/**
 * What a rollout from `current` serving replicas to `goal` keeps, whatever happens:
 *   3 → 5, new image, surge 1: never fewer than 3 serving, at most 6 containers (5 + 1).
 *   5 → 2, new image, surge 1: surplus old ones drain first (never fewer than 2 serving),
 *     then 2 roll one at a time: at most 5 containers (the old 5 before any goes).
 *   3 → 3, new image, surge 3: never fewer than 3 serving, at most 6: all new boot at once.
 *   5 → 2, same image: 3 drain and go; never fewer than 2, never more than 5.
 * A replica that joins is proven through Traefik first; one that leaves is drained first.
 */
export function rolloutBounds(current: number, goal: Goal): { minServing: number; maxContainers: number } {
  return {
    minServing: Math.min(current, goal.replicas),
    maxContainers: Math.max(current, goal.replicas + Math.max(1, goal.maxSurge)),
  };
}
