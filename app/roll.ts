// The use case every change goes through: roll to a new release, and (undo.ts, repair.ts)
// back to a recorded image. Refuses what the routing mode cannot do safely, checks the
// service, prepares the compose write-back, then either plans (--dry-run) or deploys under
// the lock, with signals and the crash watch able to stop it, and settles the compose
// files and the post-deploy hook after.
import { HealthError } from "../controller/errors.js";
import type { ImageInfo } from "../controller/model.js";
import { observe, type RolloutResult } from "../controller/rollout.js";
import { bakeStep, refuseUnbaked } from "./bake.js";
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

/** `compose-roll <service> --image <ref>`: a new release, with its hooks, gate and smoke checks. */
export async function rollRelease(ctx: AppContext, ref: string): Promise<Outcome> {
  const image = await releaseImage(ctx, ref);
  return roll(ctx, image, `roll --image ${ref}`, true);
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
    write: ctx.opts.write,
    running: seen.replicas.filter((r) => r.running),
    reporter: ctx.deps.reporter,
    say: ctx.say,
  });
  if (ctx.opts.dryRun) return { planned: await planDryRun(ctx, seen, image, truth) };
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
      ...(bake ? { bake } : {}),
    });
    if (res.result === "unchanged") ctx.say(`${ctx.svc.service} already runs ${res.to.ref}; nothing to do`);
    await truth.settle();
    if (release && res.result === "complete") await postDeploy(ctx, image);
    return { rolled: res };
  } finally {
    feed?.close();
    unwatch();
    stop.dispose();
  }
}
