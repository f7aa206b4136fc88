// The use case every change goes through: roll to a new release, and (undo.ts, repair.ts)
// back to a recorded image. Refuses what the routing mode cannot do safely, checks the
// service, prepares the compose write-back, then either plans (--dry-run) or deploys under
// the lock, with signals and the crash watch able to stop it, and settles the compose
// files and the post-deploy hook after.
import { HealthError, RefusedError } from "../controller/errors.js";
import type { ImageInfo } from "../controller/model.js";
import type { ComposeProject } from "../controller/ports.js";
import { observe, type RolloutResult, replicaCount } from "../controller/rollout.js";
import { bakeStep, refuseUnbaked } from "./bake.js";
import { alreadyThere, checkTraefikLabels, targetCount } from "./change.js";
import type { AppContext } from "./context.js";
import { deploy } from "./deploy.js";
import { planDryRun, type RolloutPlan } from "./dryrun.js";
import { postDeploy } from "./hooks.js";
import { releaseImage } from "./images.js";
import { interruptible } from "./signals.js";
import { checkAddresses } from "./sync.js";
import { prepareTruth } from "./writeback.js";

/** What a change did: planned only (--dry-run), or rolled. */
export type Outcome = { planned: RolloutPlan } | { rolled: RolloutResult };

/**
 * `compose-roll <service> [--image <ref>]`: a new release, with its hooks, gate and smoke
 * checks, to the image and configuration the compose files give now (`--image` overrides the
 * image and is written back), at the replica count they (or `--scale`) ask for.
 */
export async function rollRelease(ctx: AppContext, ref?: string): Promise<Outcome> {
  const target = ref ?? filesImage(ctx.compose, ctx.svc.service);
  const image = await releaseImage(ctx, target);
  const command = ref ? `roll --image ${ref}` : `roll ${ctx.svc.service} (${target}, from the compose files)`;
  return roll(ctx, image, command, true, { scale: true, fromFiles: ref === undefined });
}

/** The image the compose files name for the service; refused when there is none to go by. */
export function filesImage(compose: Pick<ComposeProject, "files" | "image">, service: string): string {
  const ref = compose.files.length ? compose.image(service) : undefined;
  if (!ref) {
    throw new RefusedError(
      compose.files.length
        ? `the compose files name no image for ${service}, and no --image was given`
        : `no compose file here says which image ${service} should run, and no --image was given`,
      "pass --image <ref>, or run from the project's directory (or -f <compose file>) with `image:` set",
    );
  }
  return ref;
}

/**
 * Rolls to `image`. `release`: a new release runs the deploy hooks, the migration gate and
 * the smoke checks; undo and repair go back to code that ran before, so they run none.
 */
export async function roll(
  ctx: AppContext,
  image: ImageInfo,
  command: string,
  release: boolean,
  o: { scale?: boolean; fromFiles?: boolean } = {},
): Promise<Outcome> {
  // A mode with no safe way to take an old container out (label mode without a drain): refused
  // before anything changes.
  const { refusal } = ctx.deps.router.describe();
  if (refusal) throw refusal;
  // The bake reads Traefik's access log: without one it is refused before anything changes.
  const baking = release ? ctx.opts.bake : undefined;
  if (baking) await refuseUnbaked(ctx.traffic);
  const seen = await observe(ctx.deps, ctx.svc);
  checkAddresses(seen.replicas);
  const truth = await prepareTruth({
    compose: ctx.compose,
    service: ctx.svc.service,
    ref: image.ref,
    write: ctx.opts.write && !o.fromFiles,
    running: seen.replicas.filter((r) => r.running),
    reporter: ctx.deps.reporter,
    say: ctx.say,
  });
  const { service } = ctx.svc;
  const running = seen.replicas.filter((r) => r.running);
  // A new release converges the count too; undo and repair keep what runs.
  const count = o.scale ? targetCount(ctx, seen) : undefined;
  const n = count?.replicas ?? replicaCount(seen);
  // Nothing to do, said before the lock is taken. Undo and repair, and a lock left by a killed
  // run, go through deploy(), which takes such a lock over and releases it.
  if (release && alreadyThere(seen, image, truth.config, n) && !(await ctx.lock.read(ctx.svc))) {
    ctx.say(
      `${service} already runs ${image.ref}${truth.config ? " as the compose files describe it" : ""}, ${n} replica${n === 1 ? "" : "s"}; nothing to do`,
    );
    if (!o.fromFiles) await truth.settle();
    return { rolled: { result: "unchanged", from: image, to: image, replicas: n } };
  }
  if (ctx.deps.router.describe().mode === "labels" && !truth.imageOnly)
    checkTraefikLabels(service, running, ctx.compose.labels(service));
  const shape = {
    ...(count ? { replicas: count.replicas } : {}),
    ...(truth.config ? { config: truth.config } : {}),
    ...(truth.imageOnly && !ctx.opts.composeCreate ? {} : { create: composeCreate(ctx, image) }),
  };
  if (ctx.opts.dryRun) return { planned: await planDryRun(ctx, seen, image, truth, shape) };
  const stop = interruptible(ctx.say);
  // A new container that dies unasked stops the rollout at once, not after the step in hand.
  const unwatch = await ctx.events.watchCrashes(ctx.svc, image.id, (name, code) =>
    stop.abort(new HealthError(`${name} exited with code ${code}`, `see \`docker logs ${name}\``)),
  );
  // Followed from before the first new replica serves, so its first seconds are seen.
  const feed = baking && ctx.traffic ? await ctx.traffic.follow(stop.signal) : undefined;
  try {
    const bake = feed && baking ? bakeStep(feed, baking, ctx.deps) : undefined;
    const res = await deploy(ctx, {
      image,
      command,
      release,
      signal: stop.signal,
      labels: truth.labels,
      ...shape,
      ...(bake ? { bake } : {}),
    });
    if (res.result === "unchanged") ctx.say(`${service} already runs ${res.to.ref}; nothing to do`);
    // The files already name what runs when they were the source.
    if (!o.fromFiles) await truth.settle();
    if (release && res.result === "complete") await postDeploy(ctx, image);
    return { rolled: res };
  } finally {
    feed?.close();
    unwatch();
    stop.dispose();
  }
}

/** Compose creates each new container (not started) for the files now, with `image`. */
function composeCreate(ctx: AppContext, image: ImageInfo) {
  return async (_signal: AbortSignal): Promise<string> => {
    const [id] = await ctx.compose.create(ctx.svc.service, 1, { ref: image.ref, start: false });
    return id as string;
  };
}
