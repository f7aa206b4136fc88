// The commands that change the service: roll, undo, repair (through cli/deploy.ts) and
// sync. Each resolves its target, refuses what it cannot do, then hands over.
import { AbortedError, HealthError, RefusedError } from "../controller/errors.js";
import type { ImageInfo, Observation } from "../controller/model.js";
import type { Engine } from "../controller/ports.js";
import { current, historyLost, repairTarget, undoTarget } from "../controller/revisions.js";
import { baseline, observe } from "../controller/rollout.js";
import { replicaChecks } from "../engine/checks.js";
import { watchCrashes } from "../engine/crashes.js";
import { ensureImage } from "../engine/pull.js";
import { pullPolicyOf } from "../engine/pullPolicy.js";
import { TraefikRouter } from "../traefik/router.js";
import { type Context, openContext } from "./context.js";
import { type DeployRequest, deploy } from "./deploy.js";
import { dryRun, formatDryRun } from "./dryrun.js";
import { postDeploy, preDeploy } from "./hooks.js";
import type { RawOptions } from "./options.js";
import { checkAddresses, syncRoutes, unroutedWarning } from "./sync.js";
import { prepareTruth } from "./truth.js";

/**
 * A recorded image (undo, repair) that must be on the host. These are not pulled: a kept
 * revision pins its image on the host, and a rollback should not depend on a registry.
 */
async function resolveImage(engine: Engine, ref: string, why: string): Promise<ImageInfo> {
  const image = await engine.image(ref);
  if (!image) {
    throw new RefusedError(
      `image ${ref} is not on the Docker host (${why})`,
      "pull or build it there first (undo and repair use only images already on the Docker host)",
    );
  }
  return image;
}

/**
 * A recorded image: by its tag while the tag still names the recorded ID (so containers and
 * `docker ps` show the tag), else by the ID itself, which cannot move.
 */
async function recordedImage(
  ctx: Context,
  img: { ref: string; id: string },
  why: string,
): Promise<ImageInfo> {
  const byRef = await ctx.deps.engine.image(img.ref);
  if (byRef?.id === img.id) return byRef;
  return resolveImage(ctx.deps.engine, img.id, `${why}, ${img.ref}`);
}

/**
 * Runs a deploy with signal handling: the first SIGINT/SIGTERM restores, later ones wait.
 * `release`: a roll to a new release runs the deploy hooks, the migration gate and the smoke
 * checks; undo and repair go back to code that ran before, so they run none of those
 * (warm-up still helps their first users).
 */
async function run(ctx: Context, image: ImageInfo, command: string, release = false): Promise<void> {
  // Label mode with no way to drain an old container: refused before anything changes.
  if (ctx.mode.kind === "labels" && ctx.mode.refusal) throw ctx.mode.refusal;
  const seen = await observe(ctx.deps, ctx.svc);
  const before = seen.replicas;
  checkAddresses(before);
  const truth = await prepareTruth({
    project: ctx.project,
    service: ctx.svc.service,
    ref: image.ref,
    write: ctx.opts.write,
    env: ctx.env,
    running: before.filter((r) => r.running),
    reporter: ctx.deps.reporter,
    say: ctx.say,
  });
  if (ctx.opts.dryRun) {
    const plan = await dryRun(ctx, seen, image, truth);
    process.stdout.write(
      ctx.opts.json ? `${JSON.stringify({ type: "plan", ...plan })}\n` : formatDryRun(plan),
    );
    return;
  }
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return ctx.say(`${sig} again; still restoring, please wait`);
    ctx.say(`${sig}: stopping after this step and restoring the previous image`);
    controller.abort(new AbortedError(`interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A new container that dies unasked stops the rollout at once, not after the step in hand.
  const unwatch = await watchCrashes(ctx.deps.engine.docker, ctx.svc, image.id, (name, code) =>
    controller.abort(new HealthError(`${name} exited with code ${code}`, `see \`docker logs ${name}\``)),
  );
  const kill = Number(process.env.COMPOSE_ROLL_TEST_KILL_AT_STEP);
  const req: DeployRequest = {
    image,
    command,
    maxSurge: ctx.opts.maxSurge,
    signal: controller.signal,
    labels: truth.labels,
    timeouts: {
      healthMs: ctx.opts.healthTimeoutMs,
      routeMs: ctx.opts.routeTimeoutMs,
      drainMs: ctx.opts.drainMs,
    },
    ...(Number.isInteger(kill) && kill > 0 ? { killAtStep: kill } : {}),
    ...(release ? { before: (signal: AbortSignal) => preDeploy(ctx, image, signal) } : {}),
    ...checksFor(ctx, release),
  };
  try {
    const res = await deploy(
      {
        ...ctx,
        waitMs: ctx.opts.waitMs,
        staleMs: ctx.opts.lockStaleMs,
        leaseMs: ctx.opts.lockLeaseMs,
        keep: ctx.opts.historyLimit,
      },
      req,
    );
    if (res.result === "unchanged") ctx.say(`${ctx.svc.service} already runs ${res.to.ref}; nothing to do`);
    await truth.settle();
    if (release && res.result === "complete") await postDeploy(ctx, image);
  } finally {
    unwatch();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Smoke (a new release only) and warm-up requests straight at each new container. */
function checksFor(ctx: Context, release: boolean): Pick<DeployRequest, "check"> {
  const smoke = release ? ctx.opts.smoke : [];
  if (smoke.length === 0 && ctx.opts.warmup.length === 0) return {};
  return {
    check: async (replica, signal) =>
      replicaChecks({
        http: ctx.http,
        warmup: ctx.opts.warmup,
        smoke,
        timeoutMs: ctx.opts.healthTimeoutMs,
        host: ctx.opts.checkHost,
        report: (detail) => ctx.deps.reporter.event({ type: "check", name: replica.name, detail }),
      })?.run({ name: replica.name, url: replica.url as string }, signal),
  };
}

export async function rollCommand(service: string, raw: RawOptions): Promise<void> {
  const ref = raw.image as string;
  let image: ImageInfo | undefined;
  const ctx = await openContext(service, raw, {
    traefik: true,
    writeBack: true,
    // The image is resolved once, here, before anything changes: pulled if the policy says
    // so (like `docker compose up`), its ID keys the port, and it is what we roll to.
    portByImage: async (engine, { opts, reporter, log, servicePullPolicy }) => {
      // --pull (or x-compose-roll / COMPOSE_ROLL_PULL), else the service's pull_policy, else missing.
      const fromService = servicePullPolicy ? pullPolicyOf(servicePullPolicy, "pull_policy:") : undefined;
      if (fromService?.note) log.debug(fromService.note);
      const policy = opts.pull ?? fromService?.policy ?? "missing";
      if (opts.dryRun) {
        // A dry run pulls nothing: it says what the rollout would do.
        const present = await engine.image(ref);
        if (!present) {
          image = { ref, id: "sha256:(not on the host yet)", exposedPorts: [] };
          process.stderr.write(
            `compose-roll: dry run: ${ref} is not on the Docker host; the rollout would ${policy === "never" ? "refuse it (--pull never)" : "pull it first"}\n`,
          );
          return opts.port !== undefined ? { [image.id]: opts.port } : {};
        }
        image = present;
      } else {
        image = await ensureImage(engine.docker, ref, policy, {
          onProgress: (p) => reporter.event({ type: "pull", ...p }),
          debug: (fields, msg) => log.debug(fields, msg),
          policyFrom: opts.pull !== undefined ? "--pull" : fromService ? "pull_policy:" : "default",
        });
      }
      const port = opts.port;
      if (port === undefined && image.exposedPorts.length !== 1) {
        throw new RefusedError(
          `image ${ref} exposes ${image.exposedPorts.length === 0 ? "no port" : `ports ${image.exposedPorts.join(", ")}`}`,
          "pass --port <the container port Traefik should target>",
        );
      }
      return port !== undefined ? { [image.id]: port } : {};
    },
  });
  await run(ctx, image as ImageInfo, `roll --image ${ref}`, true);
}

export async function undoCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const ctx = await openContext(service, raw, { traefik: true, writeBack: true });
  const obs = await observe(ctx.deps, ctx.svc);
  const running = current(obs).image;
  const history = await ctx.history.list(ctx.svc).catch(() => []);
  const lost = historyLost(ctx.svc, obs, history);
  if (lost) ctx.say(lost);
  const target = running && undoTarget(history, running.id, obs.replicas, ctx.opts.toRevision);
  if (!target) {
    throw new RefusedError(
      `no earlier revision of ${ctx.svc.service} is known to undo to`,
      "roll to a chosen image instead: compose-roll <service> --image <ref>",
    );
  }
  ctx.say(`undo: rolling back to ${target.ref} (${target.why})`);
  await run(ctx, await recordedImage(ctx, target, target.why), `undo to ${target.ref}`);
}

/**
 * After a killed run: the stale lock (handled in deploy) says what to go back to. Without
 * one, a service that is not at its baseline goes back to its newest complete revision.
 */
export async function repairCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const ctx = await openContext(service, raw, { traefik: true, writeBack: true });
  const held = await ctx.lock.read(ctx.svc);
  const obs = await observe(ctx.deps, ctx.svc);
  if (held) {
    await run(
      ctx,
      await recordedImage(ctx, held.previous, "the interrupted rollout's previous image"),
      "repair",
    );
    return;
  }
  if (atBaseline(obs, ctx)) {
    ctx.say(
      `${ctx.svc.service} is consistent: every running container is in Traefik, on one image; nothing to repair`,
    );
    return;
  }
  // One image but Traefik's file disagrees with the containers (compose recreated them, a
  // server lost its container): what sync does is the whole repair.
  const oneImage = new Set(obs.replicas.filter((r) => r.running).map((r) => r.imageId)).size === 1;
  if (ctx.mode.kind === "file" && oneImage) {
    const res = await syncRoutes(ctx, new AbortController().signal);
    if (atBaseline(await observe(ctx.deps, ctx.svc), ctx)) {
      ctx.say(`repair: Traefik now serves exactly the running containers: ${res.servers.join(", ")}`);
      return;
    }
  }
  const history = await ctx.history.list(ctx.svc).catch(() => []);
  const good = repairTarget(history, obs);
  if (!good) throw new RefusedError(`nothing of ${ctx.svc.service} runs and no revision is recorded`);
  ctx.say(`repair: converging on ${good.ref}`);
  await run(ctx, await recordedImage(ctx, good, "the last complete revision"), "repair");
}

function atBaseline(obs: Observation, ctx: Context): boolean {
  try {
    baseline(obs, ctx.svc);
    return true;
  } catch {
    return false;
  }
}

export async function syncCommand(service: string, raw: RawOptions): Promise<void> {
  const ctx = await openContext(service, raw, { traefik: true });
  const { router } = ctx.deps;
  if (!(router instanceof TraefikRouter)) {
    // Label mode: nothing to write, Traefik's Docker provider lists every healthy container itself.
    const name = ctx.mode.kind === "labels" ? ctx.mode.service : "@docker";
    ctx.say(
      `${service} is routed by Docker labels (${name}): Traefik keeps it in sync itself; sync is not needed`,
    );
    return;
  }
  const res = await syncRoutes(ctx, new AbortController().signal);
  if (res.unrouted) ctx.say(unroutedWarning(router.service, router.file));
  ctx.deps.reporter.event({ type: "synced", service, servers: res.servers });
}
