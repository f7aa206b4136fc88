// The controller: observe, take the one step decide() names, observe again. Rolling
// forward and restoring are the same loop with different goals, so a failure at any
// step is undone by driving back to the previous image at full capacity.
import { decide } from "./decide.js";
import { Drains } from "./drains.js";
import {
  AbortedError,
  ComposeRollError,
  LockLostError,
  RefusedError,
  RollbackFailedError,
  RolledBackError,
} from "./errors.js";
import type { Goal, ImageInfo, Observation, Replica } from "./model.js";
import type { ReplicaTemplate, ServiceRef } from "./ports.js";
import { type Deps, execute, type RolloutRequest } from "./steps.js";

export type { Deps, RolloutRequest, Timeouts } from "./steps.js";

export interface RolloutResult {
  result: "complete" | "unchanged";
  from: ImageInfo;
  to: ImageInfo;
  replicas: number;
}

/** Observes the service: its containers, and the servers the owned Traefik file lists. */
export async function observe(deps: Deps, svc: ServiceRef): Promise<Observation> {
  const [replicas, routed] = await Promise.all([deps.engine.replicas(svc), deps.router.servers()]);
  return { replicas, routed };
}

/**
 * What must hold before anything changes: the service runs, on one image, and Traefik's
 * file lists exactly its running containers (so `replicas` is what users are served by).
 */
export function baseline(
  obs: Observation,
  svc: ServiceRef,
  opts: { dead?: boolean } = {},
): { replicas: Replica[]; image: string; dead: Replica[] } {
  const running = obs.replicas.filter((r) => r.running);
  // `dead`: a container that exited (docker-rollout#20) is one of the service's replicas too,
  // whose server may still be listed: it is replaced like the others, not a reason to refuse.
  const dead = opts.dead ? obs.replicas.filter((r) => !r.running) : [];
  const deadUrls = new Set(
    obs.routed.filter((u) => dead.some((r) => new URL(u).hostname === r.id.slice(0, 12))),
  );
  if (running.length === 0) {
    throw new RefusedError(
      `service ${svc.service} of project ${svc.project} has no running containers`,
      "start it with `docker compose up -d`, then run `compose-roll sync`",
    );
  }
  const images = [...new Set(running.map((r) => r.imageId))];
  if (images.length > 1) {
    throw new RefusedError(
      `service ${svc.service} runs mixed images (${[...new Set(running.map((r) => r.imageRef))].join(", ")})`,
      "finish the earlier rollout first: rerun it, or roll to one image",
    );
  }
  const urls = running.map((r) => r.url ?? "").sort();
  const routed = obs.routed.filter((u) => !deadUrls.has(u)).sort();
  if (urls.join(" ") !== routed.join(" ")) {
    throw new RefusedError(
      `Traefik lists [${routed.join(", ")}] but ${svc.service}'s running containers are [${urls.join(", ")}]`,
      `run \`compose-roll sync ${svc.service}\` so Traefik serves exactly the running containers (label mode: make them healthy; Traefik lists only healthy ones)`,
    );
  }
  return { replicas: running, image: images[0] as string, dead };
}

/**
 * Resuming an interrupted rollout (a SIGKILLed runner): the lock it left says what it
 * replaced and how many replicas served. The state may be anything in between, so the
 * usual baseline check is skipped; decide() converges from whatever is observed.
 */
export interface Recovery {
  previous: ImageInfo;
  replicas: number;
}

export async function rollout(deps: Deps, req: RolloutRequest, recovery?: Recovery): Promise<RolloutResult> {
  const t0 = deps.clock.now();
  const seconds = () => Math.round((deps.clock.now() - t0) / 100) / 10;
  const before = await observe(deps, req.svc);
  const { template, from, n, config } = recovery
    ? await resume(deps, before, req.svc, recovery)
    : await fresh(deps, before, req.svc);
  // The restore goes back to `n`, what served before; the rollout to what was asked.
  const target = req.replicas ?? n;
  const settled = before.replicas.every(
    (r) =>
      r.imageId === req.image.id && r.running && (req.config === undefined || r.configHash === req.config),
  );
  if (settled && before.replicas.length === target && before.routed.length === target) {
    return { result: "unchanged", from, to: req.image, replicas: target };
  }
  // Shared by the rollout and its restore: a container draining stays hidden from both, and
  // what this process started is its own (decide() judges only those as failed).
  const drains = new Drains();
  const mine = new Set<string>();

  deps.reporter.event({
    type: "start",
    service: req.svc.service,
    from: from.ref,
    to: req.image.ref,
    replicas: target,
  });
  try {
    const goal = {
      image: req.image,
      replicas: target,
      maxSurge: req.maxSurge,
      ...(req.config ? { config: req.config } : {}),
      ...(req.bake ? { bake: true } : {}),
    };
    await reconcile(deps, req, template, goal, req.signal, drains, mine);
  } catch (err) {
    const cause = stopped(req.signal) ?? (err instanceof Error ? err : new Error(String(err)));
    // No restore without the lock: the restore would drive a service another run may own now.
    const lost = lockLost(req.signal, err);
    if (lost) throw lost;
    deps.reporter.event({ type: "restore", reason: cause.message, to: from.ref });
    // The restore must not be cut short by the signal that may have caused it.
    const restore = new AbortController().signal;
    try {
      const back = { image: from, replicas: n, maxSurge: 1, restore: true, ...(config ? { config } : {}) };
      await reconcile(deps, req, template, back, restore, drains, mine);
    } catch (restoreErr) {
      const lostNow = lockLost(req.signal, restoreErr);
      if (lostNow) throw lostNow;
      // Drains already begun cannot be taken back: let them finish (a failure among them
      // changes nothing now), so the state shown is the one left, and no background stop
      // outlives the report (and a later SIGTERM cannot kill the process in the middle of one).
      await drains.settle().catch(() => {});
      const state = describe(await observe(deps, req.svc).catch(() => undefined));
      throw new RollbackFailedError(
        `rollback failed: ${(restoreErr as Error).message} (after: ${cause.message})`,
        restoreErr as Error,
        state,
      );
    }
    deps.reporter.event({
      type: "done",
      result: "rolled-back",
      from: req.image.ref,
      to: from.ref,
      replicas: n,
      seconds: seconds(),
    });
    throw new RolledBackError(`rolled back; still serving ${from.ref}: ${cause.message}`, cause);
  }
  deps.reporter.event({
    type: "done",
    result: "complete",
    from: from.ref,
    to: req.image.ref,
    replicas: target,
    seconds: seconds(),
  });
  return { result: "complete", from, to: req.image, replicas: target };
}

/** The LockLostError, when the lock was lost (whatever the step in flight then failed with). */
function lockLost(signal: AbortSignal, err: unknown): LockLostError | undefined {
  const reason = stopped(signal);
  if (reason instanceof LockLostError) return reason;
  return err instanceof LockLostError ? err : undefined;
}

/** Why the rollout was stopped, when its caller gave a reason (a new container crashed); else a signal. */
function stopped(signal: AbortSignal): Error | undefined {
  return signal.aborted && signal.reason instanceof ComposeRollError ? signal.reason : undefined;
}

/**
 * How many replicas a rollout from `obs` keeps, and its restore goes back to: every container
 * of the service, running or exited (baseline's `dead` are replaced like the others). The
 * lock records the same number, so a repair from it converges to what this run would have.
 */
export function replicaCount(obs: Observation): number {
  return obs.replicas.length;
}

async function fresh(deps: Deps, obs: Observation, svc: ServiceRef) {
  const base = baseline(obs, svc, { dead: true });
  const first = base.replicas.reduce((a, b) => (a.number <= b.number ? a : b));
  const template = await deps.engine.template(first.id);
  return { template, from: template.sourceImage, n: replicaCount(obs), config: oneHash(base.replicas) };
}

/**
 * The config hash the old containers share, for the restore's goal: a configuration change
 * on the same image is told apart by it. Undefined when they do not agree (the image then
 * tells), so a restore never churns old containers that differ only among themselves.
 */
function oneHash(rs: Replica[]): string | undefined {
  const hashes = new Set(rs.map((r) => r.configHash));
  const [only] = hashes;
  return hashes.size === 1 ? only : undefined;
}

async function resume(deps: Deps, obs: Observation, svc: ServiceRef, rec: Recovery) {
  // Any running container carries the service's configuration; prefer the previous image's.
  const running = obs.replicas.filter((r) => r.running);
  const source = running.find((r) => r.imageId === rec.previous.id) ?? running[0];
  if (!source) {
    throw new RefusedError(
      `service ${svc.service} of project ${svc.project} has no running container to copy its configuration from`,
      "start it with `docker compose up -d`, then `compose-roll sync`",
    );
  }
  const previous = running.filter((r) => r.imageId === rec.previous.id);
  return {
    template: await deps.engine.template(source.id),
    from: rec.previous,
    n: rec.replicas,
    config: oneHash(previous),
  };
}

/** Drives the service to `goal`, one observed step at a time. */
export async function reconcile(
  deps: Deps,
  req: RolloutRequest,
  template: ReplicaTemplate,
  goal: Goal,
  signal: AbortSignal,
  drains = new Drains(),
  mine = new Set<string>(),
): Promise<void> {
  // Each replica takes four steps; anything far beyond that is a loop, not progress.
  const budget = 10 * (goal.replicas + 2) * Math.max(1, goal.maxSurge);
  for (let i = 0; i < budget; i++) {
    drains.check();
    if (signal.aborted) throw stopped(signal) ?? new AbortedError("interrupted by a signal");
    // Taken before observing, not after: see Drains.snapshot.
    const draining = drains.snapshot();
    const seen = await observe(deps, req.svc);
    const obs = {
      ...seen,
      replicas: seen.replicas.filter((r) => !draining.has(r.id)),
      held: seen.replicas.filter((r) => draining.has(r.id)).map((r) => r.number),
      mine: [...mine],
    };
    const step = decide(obs, goal);
    if (step.kind === "done") {
      // A probe route written for a container that then failed is not left in the file.
      if (drains.size === 0) return await deps.router.clear?.(signal);
      await drains.settle();
      continue;
    }
    req.beforeStep?.(i, step);
    await req.fence?.();
    await execute(deps, req, template, goal, obs, step, signal, drains, mine);
  }
  throw new ComposeRollError(`no convergence after ${budget} steps`, "report this as a bug");
}

/** One line per container and server, for a human who has to take over. */
export function describe(obs: Observation | undefined): string[] {
  if (!obs) return ["(could not observe the service)"];
  const routed = new Set(obs.routed);
  const lines = obs.replicas.map(
    (r) =>
      `${r.name} ${r.imageRef} ${r.running ? "running" : `exited(${r.exitCode ?? "?"})`} health=${r.health} ${
        r.url && routed.has(r.url) ? `in Traefik as ${r.url}` : "not in Traefik"
      }`,
  );
  const known = new Set(obs.replicas.map((r) => r.url));
  for (const url of obs.routed) if (!known.has(url)) lines.push(`Traefik server ${url} has no container`);
  return lines;
}
