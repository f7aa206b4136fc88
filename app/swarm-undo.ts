// `undo` on a Swarm: back to the image recorded before the one the service runs (or the revision
// --to-revision names), through the same stand-in rollout as any other image, recorded as a new
// revision. Refused before anything changes when nothing earlier is recorded.
import { RefusedError } from "../controller/errors.js";
import { type SwarmUndoTarget, swarmUndoTarget } from "../controller/swarm-revisions.js";
import { rollSwarm, type SwarmRollContext, type SwarmRollResult } from "./swarm-roll.js";

/** The image undo goes back to; refused when nothing earlier is recorded. */
export async function undoImage(
  ctx: Pick<SwarmRollContext, "cluster" | "history" | "name" | "svc">,
  toRevision?: number,
): Promise<SwarmUndoTarget> {
  const [snap, history] = await Promise.all([ctx.cluster.snapshot(ctx.name), ctx.history.list(ctx.svc)]);
  const target = swarmUndoTarget(history, snap.view.image, toRevision);
  if (!target) {
    throw new RefusedError(
      `no earlier image of ${ctx.name} is recorded in the cluster to undo to (it runs ${snap.view.image}); nothing was changed`,
      "roll to a chosen image instead: compose-roll <service> --image <ref>; `compose-roll history <service>` lists what is recorded",
    );
  }
  return target;
}

/** `target`: undoImage's answer, when the caller read it already (to write its ref back). */
export async function undoSwarm(
  ctx: SwarmRollContext,
  toRevision?: number,
  known?: SwarmUndoTarget,
): Promise<SwarmRollResult> {
  const target = known ?? (await undoImage(ctx, toRevision));
  ctx.say(`undo: rolling ${ctx.name} back to ${target.pinned} (${target.why})`);
  return rollSwarm(ctx, target.pinned, target.ref);
}
