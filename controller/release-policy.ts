// How each service of a compose project is rolled in a release, from what its compose file
// says: the compose spec's fields where they exist (deploy.update_config, stop_grace_period,
// healthcheck, volumes, labels), `x-compose-roll` where they do not. Pure: the facts come
// from compose/policies.ts, which has validated them.
import { RefusedError } from "./errors.js";

/**
 * routed: behind Traefik, rolled by the single-service rollout (proof, drain, rollback).
 * unrouted: a worker, start-first: new one healthy (or settled), then the old one stopped with its grace.
 * singleton: never two at once (beat, schedulers): stop old, start new.
 * stateful: a database or a broker: never recreated by a release; a change is reported.
 */
export type Policy = "routed" | "unrouted" | "singleton" | "stateful";
export const POLICIES: readonly Policy[] = ["routed", "unrouted", "singleton", "stateful"];

/** The compose spec's deploy.update_config (Swarm's), as a release honours it. */
export interface UpdateConfig {
  /** Containers replaced at once: the surge of a start-first roll, the batch of a stop-first one. */
  parallelism: number;
  /** Pause between two batches. */
  delayMs: number;
  order: "start-first" | "stop-first";
  /** What a failed service does to the release: rollback (all of it), pause (stop, keep what changed), continue. */
  failureAction: "rollback" | "pause" | "continue";
  /** How long a new container is watched after it is up before the batch counts as done. */
  monitorMs: number;
  /** Failed containers tolerated, as a fraction of the service's, before failure_action applies. */
  maxFailureRatio: number;
}

/** What compose/policies.ts read from one service of the model (all validated). */
export interface ServiceFacts {
  service: string;
  /** Traefik labels, or x-compose-roll routing settings (traefik-file, traefik-service). */
  routed: boolean;
  /** x-compose-roll `policy:`. */
  declared?: Policy;
  /** deploy.update_config and deploy.rollback_config, only the fields the file sets. */
  update: Partial<UpdateConfig>;
  rollback: Partial<UpdateConfig>;
  /** A named volume on a data path ("dbdata:/var/lib/postgresql/data"). */
  dataVolume?: string;
  /** container_name or fixed host ports: two containers cannot run side by side. */
  exclusive?: string;
  healthcheck: boolean;
  startPeriodMs?: number;
  stopGraceMs: number;
  stopSignal: string;
  /** x-compose-roll `grace-needed:` (or the image's label): how long the app says it needs to stop. */
  graceNeededMs?: number;
  dependsOn: string[];
  replicas: number;
}

export const DEFAULT_UPDATE: UpdateConfig = {
  parallelism: 1,
  delayMs: 0,
  order: "start-first",
  failureAction: "rollback",
  monitorMs: 0,
  maxFailureRatio: 0,
};

/** The policy and the reason, in the words `--dry-run` and `status` print. */
export function policyOf(f: ServiceFacts, skip: readonly string[] = []): { policy: Policy; why: string } {
  if (skip.includes(f.service)) return { policy: "stateful", why: "--skip" };
  if (f.declared) return { policy: f.declared, why: "x-compose-roll policy" };
  if (f.dataVolume) return { policy: "stateful", why: `named volume ${f.dataVolume}` };
  if (f.routed) return { policy: "routed", why: "routed by Traefik" };
  if (f.update.order === "stop-first") return { policy: "singleton", why: "update_config.order: stop-first" };
  if (f.exclusive) return { policy: "singleton", why: f.exclusive };
  return { policy: "unrouted", why: "no Traefik route" };
}

/** update_config over the defaults; a stop-first policy forces stop-first. */
export function updateOf(f: ServiceFacts, policy: Policy): UpdateConfig {
  const u = { ...DEFAULT_UPDATE, ...f.update };
  return policy === "singleton" ? { ...u, order: "stop-first", parallelism: 1 } : u;
}

/** rollback_config over update_config's values (Swarm's own fallback). */
export function rollbackOf(f: ServiceFacts, policy: Policy): UpdateConfig {
  const u = { ...updateOf(f, policy), ...f.rollback };
  return policy === "singleton" ? { ...u, order: "stop-first", parallelism: 1 } : u;
}

/** Contradictions a file can hold although every value is valid on its own: refused, exit 2. */
export function checkFacts(f: ServiceFacts, file: string): void {
  const where = `${file}: service ${f.service}`;
  if (f.routed && f.update.order === "stop-first") {
    throw new RefusedError(
      `${where} is routed by Traefik but sets deploy.update_config.order: stop-first, which would leave it with no server`,
      "remove order: stop-first (a routed service is always rolled start-first), or route it elsewhere",
    );
  }
  if (f.declared === "routed" && !f.routed) {
    throw new RefusedError(
      `${where} says x-compose-roll policy: routed but has no Traefik route (labels or traefik-file)`,
      "add its Traefik labels or x-compose-roll traefik-file, or drop policy: routed",
    );
  }
  if (f.declared === "unrouted" && f.update.order === "stop-first") {
    throw new RefusedError(
      `${where} says x-compose-roll policy: unrouted (start-first) and deploy.update_config.order: stop-first`,
      "keep one: policy: singleton for stop-first, or order: start-first",
    );
  }
  if (f.declared && f.declared !== "singleton" && f.declared !== "stateful" && f.exclusive) {
    throw new RefusedError(
      `${where} says x-compose-roll policy: ${f.declared}, but ${f.exclusive}, so two containers cannot run side by side`,
      "use policy: singleton, or remove it",
    );
  }
}

/** A worker whose grace is shorter than what its app says it needs loses the task in hand. */
export function graceWarning(f: ServiceFacts): string | undefined {
  if (f.graceNeededMs === undefined || f.stopGraceMs >= f.graceNeededMs) return undefined;
  return `${f.service}: stop_grace_period ${f.stopGraceMs / 1000}s is shorter than the ${f.graceNeededMs / 1000}s it says it needs to stop; a task in flight may be killed (set stop_grace_period: ${Math.ceil(f.graceNeededMs / 1000)}s)`;
}
