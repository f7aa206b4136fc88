// What each step decide() names does to the engine and Traefik, and what a rollout is
// given to do it with. The loop that observes and picks the steps is controller/rollout.ts.
import { canaryWeights } from "./bake.js";
import type { Step } from "./decide.js";
import type { Drains } from "./drains.js";
import { HealthError } from "./errors.js";
import type { Goal, ImageInfo, Observation, Replica } from "./model.js";
import type { Clock, Engine, ReplicaState, ReplicaTemplate, Reporter, Router, ServiceRef } from "./ports.js";

export interface Deps {
  engine: Engine;
  router: Router;
  clock: Clock;
  reporter: Reporter;
}

export interface Timeouts {
  /** How long a new container may take to turn healthy. */
  healthMs: number;
  /** How long Traefik may take to list (or drop) a server and to answer the probe. */
  routeMs: number;
  /** How long a server stays out of Traefik before its container is stopped. */
  drainMs: number;
}

export interface RolloutRequest {
  svc: ServiceRef;
  image: ImageInfo;
  maxSurge: number;
  timeouts: Timeouts;
  /** Aborted on SIGINT/SIGTERM: the rollout stops at the next step and restores. */
  signal: AbortSignal;
  /** Labels for the containers it starts (revision bookkeeping); restores copy the old ones'. */
  labels?: Record<string, string>;
  /**
   * compose's config hash for the new containers: with it, a container on the new image but
   * an older configuration (an env var changed in the files) is an old one too.
   */
  config?: string;
  /**
   * Has compose create one new container (not started) as `docker compose up` would for the
   * files now; its ID. Set when the configuration changed, not only the image: a clone of an
   * old container would carry the old configuration. Restores always clone the old ones.
   */
  create?: (signal: AbortSignal) => Promise<string>;
  /** How many replicas to converge to (`--scale`, `deploy.replicas`); unset: as many as there are. */
  replicas?: number;
  /** Called before each step (a test switch kills the process at step k here). */
  beforeStep?: (index: number, step: Step) => void;
  /**
   * Awaited before each step, of the rollout and of its restore: throws (a LockLostError)
   * once this run may no longer change the service, as another run may hold it now.
   */
  fence?: () => Promise<void>;
  /**
   * Checks a new, healthy replica of the target image must pass before Traefik routes to it
   * (smoke and warm-up requests); a throw fails the replica, and the rollout restores.
   */
  check?: (replica: Replica, signal: AbortSignal) => Promise<void>;
  /**
   * Watches a routed replica of the target image beside the old ones (the bake); throws (a
   * BakeError) when the new ones do worse, and the rollout restores.
   */
  bake?: (o: { replica: Replica; fresh: Replica[]; old: Replica[] }, signal: AbortSignal) => Promise<void>;
  /** The share in percent the first new replica gets while it bakes (where the router weighs servers). */
  canary?: number;
}

export async function execute(
  deps: Deps,
  req: RolloutRequest,
  template: ReplicaTemplate,
  goal: Goal,
  obs: Observation,
  step: Step,
  signal: AbortSignal,
  drains: Drains,
  mine: Set<string> = new Set(),
): Promise<void> {
  const { engine, router, reporter, clock } = deps;
  const t = req.timeouts;
  const report = (r: Replica, state: ReplicaState, detail?: string) =>
    reporter.event({
      type: "replica",
      name: r.name,
      image: r.imageRef,
      state,
      ...(detail ? { detail } : {}),
    });

  // Out of Traefik's API now (or, label mode, once leaving() says so): in-flight requests
  // finish on Traefik's old handler during the drain, in the background (the next replica
  // boots meanwhile), and not cut short by a signal (the server is out or on its way out;
  // stopping early could only drop requests). The drain period counts from when Traefik
  // stopped sending, not from when we asked it to.
  const drain = (r: Replica) => {
    report(r, "draining", `${t.drainMs} ms`);
    drains.start(r.id, async () => {
      const never = new AbortController().signal;
      if (r.url && router.leaving) await router.leaving(r.url, t.routeMs, never);
      await clock.sleep(t.drainMs, never);
      await engine.stopAndRemove(r);
      report(r, "removed");
    });
  };

  switch (step.kind) {
    case "start": {
      const t0 = clock.now();
      const r = await startOne(deps, req, template, goal, step.number, signal);
      mine.add(r.id);
      // The create time is the app's boot as much as the healthcheck wait (the overhead bench
      // counts create→healthy as the app's own); the event comes after, when the name is known.
      report(r, "adding", `created in ${clock.now() - t0} ms`);
      // Its probe route needs only its address: written now, Traefik's reload (and throttle
      // window) passes while the app boots instead of after it turns healthy.
      if (r.url) await router.prepare?.(r.url, signal);
      return;
    }
    case "await-health": {
      await engine.waitHealthy(step.replica, t.healthMs, signal);
      report(step.replica, "healthy");
      return;
    }
    case "route": {
      const url = step.replica.url as string;
      await admit(deps, req, goal, step.replica, t.routeMs, signal);
      // One write adds the proven server and, when that keeps `replicas` serving, takes the
      // oldest old one out (decide's swapOut): one Traefik reload per replica, not two.
      const out = step.retire?.url;
      const target = [...obs.routed.filter((u) => u !== out), url];
      const baking = req.bake && goal.image.id === req.image.id ? req.bake : undefined;
      const routed = (r: Replica) => r.url !== undefined && target.includes(r.url);
      const fresh = obs.replicas
        .filter((r) => routed(r) && r.imageId === goal.image.id && r.id !== step.replica.id)
        .concat(step.replica);
      const old = obs.replicas.filter((r) => routed(r) && r.imageId !== goal.image.id);
      // The first new replica of a canary gets its share by weight, for its bake only: the
      // next write (an old one retired) lists every server at equal weight again.
      const weights =
        baking && req.canary !== undefined && router.weighs && fresh.length === 1 && old.length > 0
          ? canaryWeights(
              url,
              old.map((r) => r.url as string),
              req.canary,
            )
          : undefined;
      await router.setServers(target, t.routeMs, signal, weights ? { weights } : undefined);
      report(step.replica, "routed", `${url}; Traefik serves [${target.join(", ")}]`);
      if (step.retire && out) drain(step.retire);
      if (baking) await baking({ replica: step.replica, fresh, old }, signal);
      return;
    }
    case "retire": {
      const r = step.replica;
      if (r.url && obs.routed.includes(r.url)) {
        const rest = obs.routed.filter((u) => u !== r.url);
        await router.setServers(rest, t.routeMs, signal);
        drain(r);
        return;
      }
      // Not routed and not healthy: it never served (a failed new container) or it is failing.
      const quick = r.health !== "healthy" && r.health !== "none";
      await engine.stopAndRemove(r, { quick });
      report(r, "removed");
      return;
    }
    case "unroute-orphan": {
      await router.setServers(
        obs.routed.filter((u) => u !== step.url),
        t.routeMs,
        signal,
      );
      return;
    }
    case "fail": {
      report(step.replica, "failed", step.reason);
      throw new HealthError(step.reason);
    }
    case "done":
      return;
  }
}

/**
 * Everything that must hold before users reach a new, healthy replica: the caller's checks
 * (smoke, then warm-up, straight at the container), then Traefik routes a live request to it
 * (Router.verify). A throw here fails the step, and the loop restores. A restore's replicas
 * (the previous image) are not the release under test: they get Traefik's proof only.
 */
async function admit(
  deps: Deps,
  req: RolloutRequest,
  goal: Goal,
  replica: Replica,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (req.check && !goal.restore) await req.check(replica, signal);
  await deps.router.verify(replica.url as string, timeoutMs, signal);
}

/**
 * One more container of the goal: compose's own (a configuration change) or a clone of the
 * template. Only the rollout's containers get its labels; restored ones keep the old
 * containers' (copied by the template), so they still name their own revision.
 */
async function startOne(
  deps: Deps,
  req: RolloutRequest,
  template: ReplicaTemplate,
  goal: Goal,
  number: number,
  signal: AbortSignal,
): Promise<Replica> {
  if (goal.restore || !req.create) {
    return deps.engine.start(template, goal.image, number, goal.restore ? undefined : req.labels);
  }
  const r = await deps.engine.startCreated(await req.create(signal), goal.image);
  // `docker compose config --hash` differs from what `up` writes for some services (env_file
  // in compose 2.22-5.4): the container compose made says which hash the goal's carry.
  if (r.configHash) goal.config = r.configHash;
  return r;
}
