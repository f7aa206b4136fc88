// The one place the CLI's options become a use case's context (app/context.ts): which
// settings a use case acts on, and the adapters behind the ports it has no business naming.
import type Docker from "dockerode";
import type { AppContext, RolloutOptions } from "../app/context.js";
import { composeProject } from "../compose/adapter.js";
import type { Project } from "../compose/project.js";
import { RefusedError } from "../controller/errors.js";
import type { Actor, Clock, History, Lock, ServiceRef, Traffic } from "../controller/ports.js";
import type { Deps } from "../controller/rollout.js";
import { replicaChecks } from "../engine/checks.js";
import { DockerEvents } from "../engine/crashes.js";
import { hasProjectContainers } from "../engine/docker.js";
import { systemClock } from "../engine/health.js";
import { DockerTasks } from "../engine/oneoff.js";
import { DockerImages } from "../engine/pull.js";
import type { HostHttp } from "../host/hostio.js";
import { lockKeeping } from "../state/keeping.js";
import { ContainerTraffic, FileTraffic } from "../traefik/accesslog-source.js";
import type { Options } from "./options.js";
import { parseDuration } from "./parsers.js";

/** The use cases' settings, from the resolved options and the compose file's pull_policy. */
export function rolloutOptions(
  opts: Options,
  servicePull: string | undefined,
  env: NodeJS.ProcessEnv,
  monitor?: string | number,
): RolloutOptions {
  const kill = Number(env.COMPOSE_ROLL_TEST_KILL_AT_STEP);
  const bakeMs = opts.bakeMs ?? monitorMs(monitor);
  return {
    ...(bakeMs
      ? {
          bake: {
            bakeMs,
            intervalMs: BAKE_INTERVAL_MS,
            maxErrorRate: opts.maxErrorRate,
            maxLatencyRatio: opts.maxLatencyRatio,
            minRequests: opts.minRequests,
            ...(opts.maxP99Ms !== undefined ? { maxP99Ms: opts.maxP99Ms } : {}),
          },
        }
      : {}),
    ...(opts.canary !== undefined ? { canary: opts.canary } : {}),
    maxSurge: opts.maxSurge,
    healthTimeoutMs: opts.healthTimeoutMs,
    routeTimeoutMs: opts.routeTimeoutMs,
    drainMs: opts.drainMs,
    waitMs: opts.waitMs,
    lockStaleMs: opts.lockStaleMs,
    lockLeaseMs: opts.lockLeaseMs,
    historyLimit: opts.historyLimit,
    ...(opts.toRevision !== undefined ? { toRevision: opts.toRevision } : {}),
    ...(opts.pull !== undefined ? { pull: opts.pull } : {}),
    ...(servicePull !== undefined ? { servicePull } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.scale ? { scale: scaleOf(opts) } : {}),
    write: opts.write,
    dryRun: opts.dryRun,
    ...(opts.preDeploy ? { preDeploy: opts.preDeploy } : {}),
    ...(opts.postDeploy ? { postDeploy: opts.postDeploy } : {}),
    preDeployTimeoutMs: opts.preDeployTimeoutMs,
    postDeployTimeoutMs: opts.postDeployTimeoutMs,
    migrationGate: opts.migrationGate,
    allowBreaking: opts.allowBreaking,
    ...(Number.isInteger(kill) && kill > 0 ? { killAtStep: kill } : {}),
    ...(env.COMPOSE_ROLL_BENCH_CREATE === "compose" ? { composeCreate: true } : {}),
  };
}

/** `--scale` names a service, as compose's does: only the one rolled. */
function scaleOf(opts: Options): number | undefined {
  const { scale, service } = opts;
  if (!scale) return undefined;
  if (scale.service !== service) {
    throw new RefusedError(
      `--scale ${scale.service}=${scale.replicas}: this command rolls ${service}, not ${scale.service}`,
      `--scale ${service}=<n>, or \`compose-roll ${scale.service} --scale ${scale.service}=${scale.replicas}\``,
    );
  }
  return scale.replicas;
}

/** The bake judges its figures once a second: a verdict comes within the bake plus one second. */
const BAKE_INTERVAL_MS = 1000;

/** compose gives deploy.update_config.monitor as "30s" (or, in JSON, nanoseconds). */
function monitorMs(monitor: string | number | undefined): number | undefined {
  if (typeof monitor === "number") return monitor > 0 ? Math.round(monitor / 1e6) : undefined;
  if (typeof monitor !== "string" || monitor.trim() === "") return undefined;
  const ms = parseDuration(monitor, "deploy.update_config.monitor");
  return ms > 0 ? ms : undefined;
}

/** --access-log: container:<name>, a file on this machine, or (none) the project's Traefik container. */
function trafficOf(docker: Docker, project: string, source: string | undefined): Traffic {
  if (source === undefined) return new ContainerTraffic(docker, project);
  if (source.startsWith("container:")) return new ContainerTraffic(docker, project, source.slice(10));
  return new FileTraffic(source);
}

export interface AppWiring {
  opts: Options;
  svc: ServiceRef;
  deps: Deps;
  docker: Docker;
  history: History & { latestIn(project: string): Promise<string | undefined> };
  lock: Lock;
  actor: Actor;
  settings: Record<string, string>;
  portByImage: Record<string, number>;
  project: Project;
  env: Record<string, string | undefined>;
  http: HostHttp;
  clock: Clock;
  say(line: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
}

export function appContext(w: AppWiring): AppContext {
  const { opts, deps } = w;
  return {
    svc: w.svc,
    deps,
    history: w.history,
    lock: w.lock,
    actor: w.actor,
    settings: w.settings,
    opts: rolloutOptions(
      opts,
      w.project.services[w.svc.service]?.pullPolicy,
      process.env,
      w.project.services[w.svc.service]?.monitor,
    ),
    ...(opts.bakeMs !== 0 ? { traffic: trafficOf(w.docker, w.svc.project, opts.accessLog) } : {}),
    images: new DockerImages(w.docker),
    events: new DockerEvents(w.docker),
    tasks: new DockerTasks(w.docker, w.clock),
    // Smoke (a new release only) and warm-up requests straight at each new container.
    checks: ({ smoke }) => {
      const smokes = smoke ? opts.smoke : [];
      if (smokes.length === 0 && opts.warmup.length === 0) return undefined;
      return async (replica, signal) =>
        replicaChecks({
          http: w.http,
          warmup: opts.warmup,
          smoke: smokes,
          timeoutMs: opts.healthTimeoutMs,
          host: opts.checkHost,
          report: (detail) => deps.reporter.event({ type: "check", name: replica.name, detail }),
        })?.run({ name: replica.name, url: replica.url as string }, signal);
    },
    portByImage: w.portByImage,
    compose: composeProject(w.project, w.env),
    keeping: lockKeeping(w.lock, systemClock),
    knownProject: async (project) =>
      (await hasProjectContainers(w.docker, project)) || (await w.history.latestIn(project)) !== undefined,
    say: w.say,
    debug: w.debug,
  };
}
