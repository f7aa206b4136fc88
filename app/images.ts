// The image a use case rolls to. A new release is resolved once, before anything changes:
// pulled when the pull policy says so (like `docker compose up`), and its ID keys the
// container port. A recorded image (undo, repair) is never pulled: a kept revision pins its
// image on the host, and a rollback should not depend on a registry.
import { RefusedError } from "../controller/errors.js";
import type { ImageInfo } from "../controller/model.js";
import { pullPolicyOf } from "../controller/pullPolicy.js";
import type { AppContext } from "./context.js";

export type ImageContext = Pick<AppContext, "opts" | "deps" | "images" | "portByImage" | "say" | "debug">;

/** `roll --image ref`: --pull (or x-compose-roll / COMPOSE_ROLL_PULL), else the service's pull_policy, else missing. */
export async function releaseImage(ctx: ImageContext, ref: string): Promise<ImageInfo> {
  const { opts } = ctx;
  const fromService = opts.servicePull ? pullPolicyOf(opts.servicePull, "pull_policy:") : undefined;
  if (fromService?.note) ctx.debug({}, fromService.note);
  const policy = opts.pull ?? fromService?.policy ?? "missing";
  let image: ImageInfo;
  if (opts.dryRun) {
    // A dry run pulls nothing: it says what the rollout would do.
    const present = await ctx.deps.engine.image(ref);
    if (!present) {
      image = { ref, id: "sha256:(not on the host yet)", exposedPorts: [] };
      ctx.say(
        `dry run: ${ref} is not on the Docker host; the rollout would ${policy === "never" ? "refuse it (--pull never)" : "pull it first"}`,
      );
      if (opts.port !== undefined) ctx.portByImage[image.id] = opts.port;
      return image;
    }
    image = present;
  } else {
    image = await ctx.images.ensure(ref, policy, {
      onProgress: (p) => ctx.deps.reporter.event({ type: "pull", ...p }),
      debug: ctx.debug,
      policyFrom: opts.pull !== undefined ? "--pull" : fromService ? "pull_policy:" : "default",
    });
  }
  if (opts.port === undefined && image.exposedPorts.length !== 1) {
    throw new RefusedError(
      `image ${ref} exposes ${image.exposedPorts.length === 0 ? "no port" : `ports ${image.exposedPorts.join(", ")}`}`,
      "pass --port <the container port Traefik should target>",
    );
  }
  if (opts.port !== undefined) ctx.portByImage[image.id] = opts.port;
  return image;
}

/**
 * A recorded image: by its tag while the tag still names the recorded ID (so containers and
 * `docker ps` show the tag), else by the ID itself, which cannot move.
 */
export async function recordedImage(
  ctx: Pick<AppContext, "deps">,
  img: { ref: string; id: string },
  why: string,
): Promise<ImageInfo> {
  const byRef = await ctx.deps.engine.image(img.ref);
  if (byRef?.id === img.id) return byRef;
  const image = await ctx.deps.engine.image(img.id);
  if (!image) {
    throw new RefusedError(
      `image ${img.id} is not on the Docker host (${why}, ${img.ref})`,
      "pull or build it there first (undo and repair use only images already on the Docker host)",
    );
  }
  return image;
}
