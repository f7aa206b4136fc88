// Everything a command needs before its first change, built in one place: options (filled
// from the last revision's settings), the compose project, Docker, the state on the Docker
// host, and Traefik (checked by preflight) in the routing mode the service is in (cli/mode.ts:
// a file compose-roll owns, or Docker labels). Any failure here is a refusal: nothing changed.

import type Docker from "dockerode";
import type { AppContext } from "../app/context.js";
import { composeProject } from "../compose/adapter.js";
import { checkRollable, loadProject, type Project } from "../compose/project.js";
import { type ComposeRollError, RefusedError } from "../controller/errors.js";
import type { Clock, Engine, Lock, Reporter, Router, ServiceRef } from "../controller/ports.js";
import type { Deps } from "../controller/rollout.js";
import { connectTo } from "../engine/docker.js";
import { DockerEngine, systemClock } from "../engine/index.js";
import { containerResolver } from "../engine/names.js";
import { firstReplica } from "../engine/replicas.js";
import { routedStackService } from "../engine/swarm/detect.js";
import { insecureWarning, type ResolvedHost, resolveHost } from "../host/host.js";
import { type HostFiles, hostHttp } from "../host/hostio.js";
import { sftpFiles } from "../host/sftpFiles.js";
import { fileRef } from "../state/claims.js";
import { actor, DockerHistory, DockerLock } from "../state/index.js";
import { DrainFirstEngine, FileModeRouter, LabelModeRouter } from "../traefik/modes.js";
import { localFiles } from "../traefik/write.js";
import { appContext } from "./app-context.js";
import { logger } from "./log.js";
import { detectMode, type Mode, swarmTarget } from "./mode.js";
import { type Options, parseOptions, type RawOptions, settingsOf } from "./options.js";
import { HumanReporter, JsonReporter, visible } from "./reporter.js";
import { checkGiven, resolveSettings } from "./settings.js";
import type { SwarmTarget } from "./swarm.js";
import { checkModeFlags } from "./validate.js";

/** What a command has in hand: its options and, for the use case it calls, `app`. */
export interface Context {
  opts: Options;
  /** Where each setting came from (flag, COMPOSE_ROLL_*, x-compose-roll, last revision, default). */
  sources: Record<string, string>;
  svc: ServiceRef;
  /** The controller's ports; the router knows its routing mode (Router.describe()). */
  deps: Deps;
  lock: Lock;
  say: (line: string) => void;
  /** The same, as the use cases see it. */
  app: AppContext;
  /** The compose project as compose sees it, and the environment compose runs with. */
  project: Project;
  env: Record<string, string | undefined>;
  docker: Docker;
}

export interface ContextNeeds {
  /** Commands that never touch Traefik (history, lock) skip its options and preflight. */
  traefik: boolean;
  /** Work out the routing mode even without `traefik` (status shows it). */
  mode?: boolean;
  /**
   * The commands that may write the compose files back (roll, undo, repair) need the images
   * as written, before interpolation: one more `docker compose config` (Project.rawImages).
   */
  writeBack?: boolean;
  /**
   * A Swarm stack service is the caller's to handle (openTarget returns it), not refused: roll,
   * undo, history and status have Swarm versions (cli/swarm.ts, cli/swarm-inspect.ts).
   */
  swarm?: boolean;
  /**
   * `up`: a context for the project as a whole: without a service, the project's first one;
   * no rollability check (a release checks each service by its policy).
   */
  project?: boolean;
  /**
   * With `project`: `undo`/`repair` without a service name the newest rollout's service, so a
   * directory without compose files still hears that nothing is recorded.
   */
  recorded?: boolean;
}

export async function openContext(service: string | undefined, raw: RawOptions, needs: ContextNeeds) {
  const got = await openTarget(service, raw, needs);
  if ("swarm" in got) throw new RefusedError("a Swarm service reached a command that cannot roll it");
  return got;
}

/** The context, or with `needs.swarm` and a Swarm stack service that passes every rule, that service. */
export async function openTarget(
  service: string | undefined,
  raw: RawOptions,
  needs: ContextNeeds,
): Promise<Context | { swarm: SwarmTarget }> {
  checkGiven(service, raw, process.env, process.cwd());
  const log = logger(raw.verbose ?? false);
  const say = (line: string) => process.stderr.write(`compose-roll: ${visible(line)}\n`);
  // One engine for everything: the API calls and the docker CLI subprocesses (compose), which
  // over ssh go through the same connection (so: connect first).
  const host = resolveHost({ host: raw.host, context: raw.context }, process.env);
  const insecure = insecureWarning(host.endpoint);
  if (insecure) say(`warning: ${insecure}`);
  const load = (env: Record<string, string | undefined>) =>
    loadProject({
      files: raw.file ?? [],
      cwd: process.cwd(),
      env,
      envFiles: raw.envFile ?? [],
      profiles: raw.profile ?? [],
      rawImages: needs.writeBack ?? false,
      ...(raw.projectName ? { projectName: raw.projectName } : {}),
    });
  // `docker compose config` only reads files, so it runs while the engine answers its version
  // (~25 ms on a local socket), except over ssh, where compose's docker CLI environment points
  // at the connection's local socket and so waits for the connection. The engine's error, if
  // any, is still the one reported.
  const early = host.endpoint.kind === "ssh" ? undefined : load({ ...process.env, ...host.cliEnv });
  early?.catch(() => {});
  const { docker, apiVersion, cliEnv, ssh } = await connectTo(host).catch((err: ComposeRollError) => {
    throw new RefusedError(err.message, err.hint ?? "check DOCKER_HOST and that the Docker engine runs");
  });
  const env = { ...process.env, ...cliEnv };
  const project = await (early ?? load(env));
  log.debug({ host: host.url, source: host.source }, "Docker engine");
  // The Traefik file, API and entrypoint are reached where the engine is: over ssh through
  // its one connection (SFTP, forwarded streams), else from this machine. Container names
  // in --traefik-api/--traefik-url resolve to their IPs through the Engine API.
  const files: HostFiles = ssh ? sftpFiles(ssh) : localFiles;
  const http = hostHttp(
    ssh ? (h, p, signal) => ssh.forward(h, p, signal) : undefined,
    containerResolver(docker, project.name),
  );
  const history = new DockerHistory({
    docker,
    onDamaged: (name, reason) => log.warn({ name, reason }, "damaged revision record skipped"),
  });
  // On a Swarm manager a stack's one routed service needs no name (its history is in the cluster).
  const name =
    service ??
    (needs.project && !needs.recorded ? firstService(project) : undefined) ??
    (await routedStackService(docker, project.name)) ??
    (await latestService(history, project.name));
  const svc = { project: project.name, service: name };
  const swarm =
    needs.traefik || needs.mode || needs.swarm ? await swarmTarget(docker, svc, !!needs.swarm) : undefined;
  // Flags > COMPOSE_ROLL_* > the service's x-compose-roll > the project's (> the last revision's).
  const settings = (remembered?: Record<string, string>) =>
    resolveSettings({
      flags: raw,
      env: process.env,
      project: project.settings,
      service: project.services[name]?.settings,
      serviceName: name,
      ...(project.files[0] ? { file: project.files[0] } : {}),
      // An override file's block is named as that file's, not the first -f file's.
      blockFiles: {
        ...(project.settingsFile ? { project: project.settingsFile } : {}),
        ...(project.services[name]?.settingsFile ? { service: project.services[name].settingsFile } : {}),
      },
      projectDir: project.dir,
      ...(remembered ? { remembered } : {}),
      host: { url: host.url, remote: host.endpoint.kind === "tcp" },
    });
  if (swarm) {
    const debug = (f: Record<string, unknown>, m: string) => log.debug(f, m);
    const compose = composeProject(project, env);
    // The stack file's x-compose-roll blocks, as on one host; a Swarm keeps no remembered settings.
    const resolved = settings();
    for (const line of resolved.ignored) say(line);
    const target = { docker, svc, facts: swarm, http, say, debug, compose };
    return { swarm: { ...target, raw: resolved.raw, names: resolved.names } };
  }
  if (!needs.project) checkRollable(project, name);
  log.debug({ project: project.name, files: project.files, apiVersion }, "project resolved");

  // The routing mode is read from a running replica's labels, with the last revision's
  // settings: both reads go to the engine at once.
  const detecting = needs.traefik || needs.mode;
  const replica = detecting ? firstReplica(docker, svc) : undefined;
  replica?.catch(() => {});
  // The last revision remembers how this service is routed; flags given now win.
  const last = (await history.list(svc).catch(() => []))[0];
  log.debug({ settings: last?.settings }, "settings of the last revision");
  const resolved = settings(last?.settings);
  for (const line of resolved.ignored) say(line);
  // Label mode needs no --traefik-file: decide the mode before requiring one.
  let opts = parseOptions(name, resolved.raw, process.cwd(), false, resolved.names);
  const mode: Mode = replica
    ? await detectMode(docker, svc, resolved.raw, opts, http, replica).catch(overTcp(host))
    : { kind: "file" };
  if (detecting) checkModeFlags(mode.kind, raw, name);
  if (mode.kind === "file")
    opts = parseOptions(name, resolved.raw, process.cwd(), needs.traefik, resolved.names);
  else {
    // Traefik's Docker provider decides the address: the labels' network and port, by IP.
    if (opts.network === undefined && mode.network) opts.network = mode.network;
    if (opts.port === undefined && mode.port) opts.port = mode.port;
  }
  const clock: Clock = systemClock;
  const reporter: Reporter = opts.json ? new JsonReporter() : new HumanReporter(clock);
  // Filled in by the rollout once its image is resolved (the engine reads it by reference).
  const portByImage: Record<string, number> = {};
  const engineOpts = {
    docker,
    apiVersion,
    ...(opts.network ? { network: opts.network } : {}),
    ...(mode.kind === "labels" && opts.port !== undefined ? { port: opts.port } : {}),
    ...(mode.kind === "labels" ? { address: "ip" as const } : {}),
    portByImage,
    clock,
  };
  let engine: Engine;
  let router: Router & { preflight(signal?: AbortSignal): Promise<void> };
  if (mode.kind === "labels") {
    const draining = new DrainFirstEngine(engineOpts, {
      routeMs: opts.routeTimeoutMs,
      drainMs: opts.drainMs,
      clock,
    });
    const { service: traefikService, drain, refusal } = mode;
    router = draining.router = new LabelModeRouter({
      service: traefikService,
      ...(drain ? { drain } : {}),
      ...(refusal ? { refusal } : {}),
      docker,
      engine: draining,
      svc,
      api: opts.traefikApi.href.replace(/\/$/, ""),
      probePath: opts.probePath,
      clock,
      http,
    });
    engine = draining;
  } else {
    engine = new DockerEngine(engineOpts);
    router = new FileModeRouter({
      file: opts.traefikFile,
      service: opts.traefikService,
      api: opts.traefikApi.href.replace(/\/$/, ""),
      probe: { url: opts.traefikUrl.href.replace(/\/$/, ""), path: opts.probePath },
      clock,
      files,
      http,
    });
  }
  // Traefik first: a wrong --traefik-api is refused before a rollout spends time pulling.
  if (needs.traefik) await router.preflight().catch(overTcp(host));
  const deps: Deps = { engine, router, clock, reporter };
  // The Traefik file is claimed with the lock: other services' rollouts may write it too. A
  // project-wide context (a release's lock) writes no Traefik file: each routed service's own
  // rollout claims its file, and a claim here would refuse that very rollout.
  const claimed = !needs.project && mode.kind === "file" && opts.traefikFile;
  const lock = new DockerLock({
    docker,
    files: claimed ? [fileRef(claimed, ssh?.address)] : [],
  });
  const app = appContext({
    opts,
    svc,
    deps,
    docker,
    history,
    lock,
    actor: actor(),
    settings: settingsOf(opts),
    portByImage,
    project,
    env,
    http,
    clock,
    say,
    debug: (fields, msg) => log.debug(fields, msg),
  });
  return {
    opts,
    sources: resolved.sources,
    svc,
    deps,
    lock,
    say,
    app,
    project,
    env,
    docker,
  };
}

function firstService(project: Project): string {
  const first = Object.keys(project.services)[0];
  if (!first) {
    throw new RefusedError(
      `no services in ${project.files.join(", ") || "the compose files (none found here)"}`,
      "run from the project's directory or pass -f <compose file>",
    );
  }
  return first;
}

/**
 * Over tcp:// the engine is remote but nothing else is reachable through that connection:
 * the Traefik file and API are used from this machine. A refusal about them says so.
 */
function overTcp(host: ResolvedHost) {
  return (err: unknown): never => {
    if (host.endpoint.kind === "tcp" && err instanceof RefusedError) {
      throw new RefusedError(
        err.message,
        `${err.hint ?? ""}; over tcp:// the Traefik file and API are reached from this machine, not the Docker host: use DOCKER_HOST=ssh://… to reach them through the engine's connection`.replace(
          /^; /,
          "",
        ),
      );
    }
    throw err;
  };
}

/** `undo` without a service: the service of the project's most recent rollout. */
async function latestService(history: DockerHistory, project: string): Promise<string> {
  const latest = await history.latestIn(project);
  if (!latest) {
    throw new RefusedError(
      `no rollout of project ${project} is recorded on this Docker host`,
      "name the service: compose-roll undo <service>",
    );
  }
  return latest;
}
