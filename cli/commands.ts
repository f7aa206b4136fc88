// Orchestration: validate everything, build the real adapters, preflight, then hand over
// to the controller. Nothing here decides what to do to containers; controller/ does.
import { pino } from "pino";
import { checkRollable, loadProject } from "../compose/project.js";
import { type ComposeRollError, RefusedError } from "../controller/errors.js";
import type { ImageInfo, Replica } from "../controller/model.js";
import type { Clock, Reporter, ServiceRef } from "../controller/ports.js";
import { type Deps, observe, rollout } from "../controller/rollout.js";
import { connect, DockerEngine, systemClock } from "../engine/index.js";
import { TraefikRouter } from "../traefik/router.js";
import { type Options, parseOptions, type RawOptions } from "./options.js";
import { HumanReporter, JsonReporter } from "./reporter.js";

interface Context {
  opts: Options;
  svc: ServiceRef;
  deps: Deps & { engine: DockerEngine; router: TraefikRouter };
  log: pino.Logger;
}

/**
 * Everything before the first change: options, project, Docker, Traefik. `portByImage`
 * resolves per-image ports once Docker answers (the rollout checks its image there).
 */
async function setup(
  service: string,
  raw: RawOptions,
  portByImage: (e: DockerEngine) => Promise<Record<string, number>>,
): Promise<Context> {
  const opts = parseOptions(service, raw, process.cwd());
  const log = pino({ level: opts.verbose ? "debug" : "warn" }, pino.destination(2));
  const project = loadProject({
    files: opts.files,
    cwd: process.cwd(),
    env: process.env,
    ...(opts.projectName ? { projectName: opts.projectName } : {}),
  });
  checkRollable(project, service);
  const svc = { project: project.name, service };
  log.debug({ project: project.name, files: project.files }, "project resolved");

  const clock: Clock = systemClock;
  const reporter: Reporter = opts.json ? new JsonReporter() : new HumanReporter(clock);
  const { docker, apiVersion } = await connect().catch((err: ComposeRollError) => {
    throw new RefusedError(err.message, err.hint ?? "check DOCKER_HOST and that the Docker engine runs");
  });
  const engine = new DockerEngine({
    docker,
    apiVersion,
    ...(opts.network ? { network: opts.network } : {}),
    portByImage: await portByImage(new DockerEngine({ docker, apiVersion })),
    clock,
  });
  log.debug({ api: engine.apiVersion }, "docker connected");
  const router = new TraefikRouter({
    file: opts.traefikFile,
    service: opts.traefikService,
    api: opts.traefikApi.href.replace(/\/$/, ""),
    probe: { url: opts.traefikUrl.href.replace(/\/$/, ""), path: opts.probePath },
    clock,
  });
  await router.preflight();
  return { opts, svc, deps: { engine, router, clock, reporter }, log };
}

/** Every running container must have an address Traefik can use, or we refuse now. */
function checkAddresses(replicas: Replica[]): void {
  const lost = replicas.find((r) => r.running && !r.url);
  if (lost) {
    throw new RefusedError(
      `cannot tell which address Traefik uses for ${lost.name}: it is on several networks or exposes several ports`,
      "pass --network <the network Traefik shares with it> and/or --port <n>",
    );
  }
}

export async function rollCommand(service: string, raw: RawOptions): Promise<void> {
  let image: ImageInfo | undefined;
  const ctx = await setup(service, raw, async (engine) => {
    const ref = raw.image as string;
    image = await engine.image(ref);
    if (!image) {
      throw new RefusedError(
        `image ${ref} is not on the Docker host`,
        "build or pull it there first (compose-roll never pulls: a deploy should not depend on a registry mid-rollout)",
      );
    }
    const port = raw.port ? Number(raw.port) : undefined;
    if (port === undefined && image.exposedPorts.length !== 1) {
      throw new RefusedError(
        `image ${ref} exposes ${image.exposedPorts.length === 0 ? "no port" : `ports ${image.exposedPorts.join(", ")}`}`,
        "pass --port <the container port Traefik should target>",
      );
    }
    return port === undefined ? {} : { [image.id]: port };
  });
  const { deps, svc, opts, log } = ctx;
  checkAddresses((await observe(deps, svc)).replicas);

  // First signal: stop at the next step and restore. The restore itself is not interruptible
  // (a half-restored service is worse than a slow one); SIGKILL remains for emergencies.
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`compose-roll: ${sig} again; still restoring, please wait\n`);
      return;
    }
    process.stderr.write(`compose-roll: ${sig}: stopping after this step and restoring the previous image\n`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const res = await rollout(deps, {
      svc,
      image: image as ImageInfo,
      maxSurge: opts.maxSurge,
      signal: controller.signal,
      timeouts: { healthMs: opts.healthTimeoutMs, routeMs: opts.routeTimeoutMs, drainMs: opts.drainMs },
    });
    if (res.result === "unchanged") {
      deps.reporter.event({ type: "synced", service, servers: (await observe(deps, svc)).routed });
      process.stderr.write(`compose-roll: ${service} already runs ${res.to.ref}; nothing to do\n`);
    }
    log.debug(res, "rollout finished");
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export async function syncCommand(service: string, raw: RawOptions): Promise<void> {
  const { deps, svc, opts } = await setup(service, raw, async () => ({}));
  const obs = await observe(deps, svc);
  checkAddresses(obs.replicas);
  const ready = obs.replicas.filter((r) => r.running && (r.health === "healthy" || r.health === "none"));
  if (ready.length === 0) {
    throw new RefusedError(
      `no healthy running container of ${service} in project ${svc.project}`,
      "start the service (`docker compose up -d --wait`) and retry",
    );
  }
  const urls = ready.map((r) => r.url as string);
  const signal = new AbortController().signal;
  // Prove each new server reachable through Traefik before users are sent to it.
  for (const url of urls.filter((u) => !obs.routed.includes(u))) {
    await deps.router.verify(url, opts.routeTimeoutMs, signal);
  }
  await deps.router.setServers(urls, opts.routeTimeoutMs, signal);
  deps.reporter.event({ type: "synced", service, servers: urls });
}
