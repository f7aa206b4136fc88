// `repair`, after a killed or failed run. The decision, in order:
//   1. a lock is held (a stale one is taken over in deploy): go back to what that run replaced;
//   2. the service is at its baseline (one image, Traefik lists exactly the running
//      containers): nothing to do;
//   3. one image, but the router's owned list disagrees with the containers (compose
//      recreated them, a server lost its container): a sync is the whole repair;
//   4. else converge on the newest complete revision (controller/revisions.ts repairTarget).
import { RefusedError } from "../controller/errors.js";
import type { Observation } from "../controller/model.js";
import type { ServiceRef } from "../controller/ports.js";
import { repairTarget } from "../controller/revisions.js";
import { baseline, observe } from "../controller/rollout.js";
import type { AppContext } from "./context.js";
import { recordedImage } from "./images.js";
import { type Outcome, roll } from "./roll.js";
import { syncRoutes } from "./sync.js";

/** Undefined: nothing needed rolling (consistent already, or a sync was enough). */
export async function repair(ctx: AppContext): Promise<Outcome | undefined> {
  const held = await ctx.lock.read(ctx.svc);
  const obs = await observe(ctx.deps, ctx.svc);
  if (held) {
    const image = await recordedImage(ctx, held.previous, "the interrupted rollout's previous image");
    return roll(ctx, image, "repair", false);
  }
  if (atBaseline(obs, ctx.svc)) {
    ctx.say(
      `${ctx.svc.service} is consistent: every running container is in Traefik, on one image; nothing to repair`,
    );
    return undefined;
  }
  const oneImage = new Set(obs.replicas.filter((r) => r.running).map((r) => r.imageId)).size === 1;
  const { owned } = ctx.deps.router;
  if (owned && oneImage) {
    const res = await syncRoutes(ctx, owned, new AbortController().signal);
    if (atBaseline(await observe(ctx.deps, ctx.svc), ctx.svc)) {
      ctx.say(`repair: Traefik now serves exactly the running containers: ${res.servers.join(", ")}`);
      return undefined;
    }
  }
  const history = await ctx.history.list(ctx.svc).catch(() => []);
  const good = repairTarget(history, obs);
  if (!good) throw new RefusedError(`nothing of ${ctx.svc.service} runs and no revision is recorded`);
  ctx.say(`repair: converging on ${good.ref}`);
  return roll(ctx, await recordedImage(ctx, good, "the last complete revision"), "repair", false);
}

function atBaseline(obs: Observation, svc: ServiceRef): boolean {
  try {
    baseline(obs, svc);
    return true;
  } catch {
    return false;
  }
}
