// A release: every changed service of a compose project rolled as one. Pure: what changed
// (compose's own decision, compose/changes.ts) and each service's facts (compose/policies.ts)
// go in; the plan comes out — which services, in what order, by which policy, in what steps.
// decide() stays per service: a routed service's plan is one call of the single-service
// rollout, whose rolling arithmetic keeps its own worked examples.
import { RefusedError } from "./errors.js";
import {
  checkFacts,
  graceWarning,
  type Policy,
  policyOf,
  rollbackOf,
  type ServiceFacts,
  type UpdateConfig,
  updateOf,
} from "./release-policy.js";

/**
 * What `docker compose up -d` would do to a service now (from its own --dry-run). trim: only
 * remove containers beyond its replicas — after a killed release, the old ones it left.
 */
export type ComposeAction = "recreate" | "create" | "start" | "trim" | "unchanged";

export interface ServiceChange {
  service: string;
  action: ComposeAction;
  /** What differs, in words ("image app:v1 → app:v2", "configuration"). */
  what: string[];
  /** The containers compose would remove (names). */
  extras?: string[];
}

export interface ReleaseInput {
  /** The compose files, for refusals to name. */
  file: string;
  facts: ServiceFacts[];
  changes: ServiceChange[];
  /** SERVICE... given on the command line (empty: the whole project). */
  named: string[];
  skip: string[];
  force: boolean;
  /** --image: only with one service. */
  image?: string;
  /** How long a worker without a healthcheck must keep running to count as started. */
  settleMs: number;
}

export interface PlannedService {
  service: string;
  policy: Policy;
  why: string;
  action: ComposeAction;
  what: string[];
  replicas: number;
  update: UpdateConfig;
  rollback: UpdateConfig;
  /** How a new container counts as started: its healthcheck, or running for this long. */
  readyBy: { health: true } | { runningMs: number };
  stopGraceMs: number;
  stopSignal: string;
  /** Containers compose would remove (trim). */
  extras: string[];
  steps: string[];
  warnings: string[];
}

export interface ReleasePlan {
  /** In order: routed services first, then (after the barrier) the rest; depends_on respected. */
  services: PlannedService[];
  /** Changed but stateful: never recreated, reported with what to do. */
  held: { service: string; what: string[]; why: string; line: string }[];
  unchanged: string[];
}

/** Bad input, refused before anything changes (exit 2). */
export function checkRelease(input: ReleaseInput): void {
  const known = new Set(input.facts.map((f) => f.service));
  for (const s of [...input.named, ...input.skip]) {
    if (!known.has(s)) {
      throw new RefusedError(
        `no service ${JSON.stringify(s)} in ${input.file} (services: ${[...known].join(", ") || "none"})`,
        "name one of those services; one outside the active profiles needs --profile <name>",
      );
    }
  }
  if (input.image !== undefined && input.named.length !== 1) {
    throw new RefusedError(
      `--image ${input.image} names one image, but ${input.named.length ? `${input.named.length} services were` : "no service was"} given`,
      "give --image with exactly one service (compose-roll up web --image <ref>), or edit the compose files and run compose-roll up",
    );
  }
  for (const f of input.facts) checkFacts(f, input.file);
  if (input.force) return;
  for (const s of input.named) {
    const f = input.facts.find((x) => x.service === s) as ServiceFacts;
    const { policy, why } = policyOf(f, input.skip);
    if (policy === "stateful" && !input.skip.includes(s)) {
      throw new RefusedError(
        `${s} is stateful (${why}): compose-roll up does not recreate it unless told to`,
        `add --force to recreate ${s} (its clients see it restart), or leave it out`,
      );
    }
  }
}

export function planRelease(input: ReleaseInput): ReleasePlan {
  checkRelease(input);
  const byName = new Map(input.facts.map((f) => [f.service, f]));
  const wanted = new Set(input.named.length ? input.named : input.facts.map((f) => f.service));
  const planned: PlannedService[] = [];
  const held: ReleasePlan["held"] = [];
  const unchanged: string[] = [];
  for (const c of input.changes) {
    const f = byName.get(c.service);
    if (!f || !wanted.has(c.service)) continue;
    if (c.action === "unchanged") {
      unchanged.push(c.service);
      continue;
    }
    const p = policyOf(f, input.skip);
    if (p.policy === "routed" && c.action === "trim") {
      held.push({
        service: c.service,
        what: c.what,
        why: p.why,
        line: `${c.service} has containers compose would remove (${(c.extras ?? []).join(", ")}) and Traefik may route to them: not removed by up; \`compose-roll sync ${c.service}\` then \`docker compose up -d ${c.service}\``,
      });
      continue;
    }
    const forced = input.force && input.named.includes(c.service);
    if (p.policy === "stateful" && c.action === "recreate" && !forced) {
      held.push({
        service: c.service,
        what: c.what,
        why: p.why,
        line: `${c.service} changed (${c.what.join(", ")}) but is stateful (${p.why}): not recreated; in a maintenance window run \`docker compose up -d ${c.service}\`, or \`compose-roll up ${c.service} --force\``,
      });
      continue;
    }
    // A forced stateful service is rolled as a singleton: never two on one data directory.
    const policy: Policy = p.policy === "stateful" ? "singleton" : p.policy;
    planned.push(planned1(f, c, policy, p.why, input.settleMs));
  }
  return { services: ordered(planned, byName), held, unchanged };
}

function planned1(
  f: ServiceFacts,
  c: ServiceChange,
  policy: Policy,
  why: string,
  settleMs: number,
): PlannedService {
  const readyBy = f.healthcheck
    ? ({ health: true } as const)
    : { runningMs: Math.max(f.startPeriodMs ?? 0, settleMs) };
  const update = updateOf(f, policy);
  const warning = graceWarning(f);
  const p: PlannedService = {
    service: f.service,
    policy,
    why,
    action: c.action,
    what: c.what,
    replicas: Math.max(1, f.replicas),
    update,
    rollback: rollbackOf(f, policy),
    readyBy,
    stopGraceMs: f.stopGraceMs,
    stopSignal: f.stopSignal,
    extras: c.extras ?? [],
    steps: [],
    warnings: warning ? [warning] : [],
  };
  p.steps = stepsOf(p);
  return p;
}

/** The steps `--dry-run` prints for one service. */
export function stepsOf(p: PlannedService): string[] {
  const ready =
    "health" in p.readyBy ? "wait until healthy" : `wait until running for ${p.readyBy.runningMs / 1000}s`;
  const stop = `stop the old one with ${p.stopSignal}, up to ${p.stopGraceMs / 1000}s (stop_grace_period); keep it until the release is done`;
  if (p.action === "create") return [`compose creates ${p.replicas} container(s)`, ready];
  if (p.action === "start") return ["start its stopped containers", ready];
  if (p.action === "trim")
    return [
      `stop (with ${p.stopSignal}, up to ${p.stopGraceMs / 1000}s) and remove ${p.extras.join(", ")}: beyond its replicas`,
    ];
  if (p.policy === "routed")
    return [
      "roll through Traefik one replica at a time: start, prove, route, drain the old (as `compose-roll <service>`)",
    ];
  const n = Math.min(p.update.parallelism || p.replicas, p.replicas);
  const batches = Math.ceil(p.replicas / n);
  const each =
    p.update.order === "stop-first"
      ? [stop, `compose creates ${n} new`, ready]
      : [`compose creates ${n} new beside the old`, ready, stop];
  const pause = p.update.delayMs ? [`wait ${p.update.delayMs / 1000}s (update_config.delay)`] : [];
  const monitor = p.update.monitorMs
    ? [`watch for ${p.update.monitorMs / 1000}s (update_config.monitor)`]
    : [];
  const batch = [...each, ...monitor];
  return batches === 1 ? batch : [`${batches} batches of ${n}:`, ...batch, ...pause];
}

/**
 * Routed first (the web tier complete is Kamal's barrier), then the rest; within each tier
 * a service comes after what it depends_on (services outside the release are already up).
 */
function ordered(ps: PlannedService[], facts: Map<string, ServiceFacts>): PlannedService[] {
  const tier = (p: PlannedService) => (p.policy === "routed" ? 0 : 1);
  const out: PlannedService[] = [];
  for (const t of [0, 1]) {
    const left = ps.filter((p) => tier(p) === t);
    const done = new Set(out.map((p) => p.service));
    while (left.length) {
      const next =
        left.findIndex((p) =>
          (facts.get(p.service)?.dependsOn ?? []).every(
            (d) => done.has(d) || !left.some((l) => l.service === d),
          ),
        ) ?? 0;
      const [p] = left.splice(next < 0 ? 0 : next, 1) as [PlannedService];
      out.push(p);
      done.add(p.service);
    }
  }
  return out;
}

/** The order in which a failed release puts services back: the reverse of the order they changed. */
export function rollbackOrder(changed: readonly string[]): string[] {
  return [...changed].reverse();
}
