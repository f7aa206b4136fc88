// The one place the CLI's options become a use case's context (app/context.ts): which
// settings a use case acts on, and the adapters behind the ports it has no business naming.
import type Docker from "dockerode";
import type { AppContext, RolloutOptions } from "../app/context.js";
import { composeProject } from "../compose/adapter.js";
import type { Project } from "../compose/project.js";
import { RefusedError } from "../controller/errors.js";
import type { Actor, Clock, History, Lock, ServiceRef } from "../controller/ports.js";
import type { Deps } from "../controller/rollout.js";
import { replicaChecks } from "../engine/checks.js";
import { DockerEvents } from "../engine/crashes.js";
import { hasProjectContainers } from "../engine/docker.js";
import { systemClock } from "../engine/health.js";
import { DockerTasks } from "../engine/oneoff.js";
import { DockerImages } from "../engine/pull.js";
import type { HostHttp } from "../host/hostio.js";
import { lockKeeping } from "../state/keeping.js";
import type { Options } from "./options.js";

/** The use cases' settings, from the resolved options and the compose file's pull_policy. */
export function rolloutOptions(
  opts: Options,
  servicePull: string | undefined,
  env: NodeJS.ProcessEnv,
): RolloutOptions {
  const kill = Number(env.COMPOSE_ROLL_TEST_KILL_AT_STEP);
  return {
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
    opts: rolloutOptions(opts, w.project.services[w.svc.service]?.pullPolicy, process.env),
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
