// `undo`: Kubernetes' rollback (controller/revisions.ts undoTarget), rolled out as a new
// revision through roll.ts, with none of a new release's hooks.
import { RefusedError } from "../controller/errors.js";
import { current, historyLost, undoTarget } from "../controller/revisions.js";
import { observe } from "../controller/rollout.js";
import type { AppContext } from "./context.js";
import { recordedImage } from "./images.js";
import { type Outcome, roll } from "./roll.js";

export async function undo(ctx: AppContext): Promise<Outcome> {
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
  return undoTo(ctx, target);
}

/** Rolls the service back to a recorded image, as a new revision, with the files' configuration. */
export async function undoTo(
  ctx: AppContext,
  target: { ref: string; id: string; why: string },
): Promise<Outcome> {
  ctx.say(`undo: rolling back to ${target.ref} (${target.why})`);
  return roll(ctx, await recordedImage(ctx, target, target.why), `undo to ${target.ref}`, false);
}
