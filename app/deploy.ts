// One rollout as one revision, under the service's lock: the migration gate and the
// pre-deploy hook (a new release only), the revision's number, resuming a killed run when
// its stale lock says one was interrupted, the rollout itself (the controller's), the
// record, the release of the lock. roll.ts wraps it with what a command adds around it.
import { RefusedError, RollbackFailedError, RolledBackError } from "../controller/errors.js";
import type { ImageInfo } from "../controller/model.js";
import type { LockInfo, Revision, RevisionResult } from "../controller/ports.js";
import { nextRevision } from "../controller/revisions.js";
import {
  baseline,
  observe,
  type Recovery,
  type RolloutRequest,
  type RolloutResult,
  rollout,
} from "../controller/rollout.js";
import type { AppContext } from "./context.js";
import { preDeploy } from "./hooks.js";
import { lockFor, readHistory } from "./lock.js";

export interface DeployRequest {
  /** What to roll to: a new image, undo's target or repair's. */
  image: ImageInfo;
  command: string;
  /**
   * A roll to a new release runs the migration gate, the pre-deploy hook and the smoke
   * checks; undo and repair go back to code that ran before, so they run none of those
   * (warm-up still helps their first users).
   */
  release: boolean;
  signal: AbortSignal;
  /** Extra labels for the new image's containers (compose's config hash). */
  labels?: Record<string, string>;
  /** compose's config hash for the new containers (RolloutRequest.config). */
  config?: string;
  /** Compose creates the new containers: the configuration changed (RolloutRequest.create). */
  create?: RolloutRequest["create"];
  /** The replica count to converge to (RolloutRequest.replicas); unset: as many as there are. */
  replicas?: number;
  /** Watches each routed new replica beside the old ones (app/bake.ts). */
  bake?: RolloutRequest["bake"];
}

export async function deploy(ctx: AppContext, req: DeployRequest): Promise<RolloutResult> {
  const { deps, svc, opts } = ctx;
  const { mine, stale } = await lockFor(ctx, req.image, req.command);
  // A failed restore keeps the lock: it records what was replaced and at what capacity, so
  // `compose-roll repair` (or the next run) takes it over once this process is gone and
  // converges from it, as after a kill. Released, the record would be lost with the state mixed.
  let keep = false;
  const lease = ctx.keeping.keep({ svc, info: mine, leaseMs: opts.lockLeaseMs, say: ctx.say });
  const signal = AbortSignal.any([req.signal, lease.signal]);
  try {
    if (req.release) {
      // What the rollout would refuse (Traefik's file out of step, mixed images) is refused
      // before the hook: a migration must not run for a rollout that then never starts.
      if (!stale) baseline(await observe(deps, svc), svc, { dead: true });
      await preDeploy(ctx, req.image, signal);
    }
    // Numbered under the lock, so no other run can record the same number meanwhile.
    let history = await readHistory(ctx);
    if (history.length === 0 && !stale) history = await recordStart(ctx, mine);
    const number = nextRevision(history);
    const recovery = stale && (await recoveryFrom(ctx, stale));
    const from = recovery ? { ref: recovery.previous.ref, id: recovery.previous.id } : mine.previous;
    const rev: Revision = {
      number,
      image: { ref: req.image.ref, id: req.image.id },
      by: ctx.actor,
      at: mine.since,
      result: "failed",
      ...(history[0] ? { previous: history[0].number } : {}),
      previousImage: from,
      settings: ctx.settings,
    };
    let killAt = 0;
    const check = ctx.checks({ smoke: req.release });
    const result = await rollout(
      deps,
      {
        svc,
        image: req.image,
        maxSurge: opts.maxSurge,
        ...(req.config ? { config: req.config } : {}),
        ...(req.create ? { create: req.create } : {}),
        ...(req.replicas !== undefined ? { replicas: req.replicas } : {}),
        timeouts: { healthMs: opts.healthTimeoutMs, routeMs: opts.routeTimeoutMs, drainMs: opts.drainMs },
        signal,
        labels: {
          ...req.labels,
          "com.compose-roll.revision": String(number),
          "com.compose-roll.previous-image-ref": from.ref,
          "com.compose-roll.previous-image-id": from.id,
        },
        ...(check ? { check } : {}),
        ...(req.bake ? { bake: req.bake } : {}),
        ...(req.bake && opts.canary !== undefined ? { canary: opts.canary } : {}),
        fence: lease.fence,
        beforeStep: () => {
          if (opts.killAtStep !== undefined && ++killAt === opts.killAtStep)
            process.kill(process.pid, "SIGKILL");
        },
      },
      recovery || undefined,
    ).catch(async (err: unknown) => {
      const result: RevisionResult = err instanceof RolledBackError ? "rolled-back" : "failed";
      if (err instanceof RolledBackError || err instanceof RollbackFailedError)
        await record(ctx, { ...rev, result, reason: err.cause.message });
      keep = err instanceof RollbackFailedError;
      throw err;
    });
    if (result.result === "complete") await record(ctx, { ...rev, result: "complete" });
    return result;
  } catch (err) {
    throw lease.lost() ?? err; // a pre-deploy hook cut short by the loss, too
  } finally {
    await lease.stop();
    if (keep) ctx.say("keeping the rollout lock: `compose-roll repair` resumes from it");
    // A lost lock is not ours to release any more.
    else if (!lease.lost())
      await ctx.lock
        .release(svc, mine)
        .catch((err: Error) => ctx.say(`could not release the lock: ${err.message}`));
  }
}

/** The killed run's view, from its stale lock: what it replaced and at what capacity. */
async function recoveryFrom(ctx: AppContext, stale: LockInfo): Promise<Recovery> {
  const previous = await ctx.deps.engine.image(stale.previous.id);
  if (!previous) {
    throw new RefusedError(
      `the interrupted rollout replaced ${stale.previous.ref}, which is no longer on the host`,
      "roll forward to an image that is there: compose-roll <service> --image <ref>",
    );
  }
  ctx.say(`resuming after an interrupted ${stale.command}: ${stale.previous.ref} → ${stale.target.ref}`);
  return { previous, replicas: stale.replicas };
}

/**
 * The first rollout of a service records what it found running, by name and ID, as
 * revision 1: the record pins that image on the host, so `undo` can always go back to it.
 */
async function recordStart(ctx: AppContext, mine: LockInfo): Promise<Revision[]> {
  const start: Revision = {
    number: 1,
    image: mine.previous,
    by: ctx.actor,
    at: mine.since,
    result: "complete",
    settings: ctx.settings,
  };
  await record(ctx, start);
  return [start];
}

/** A failed write of the history must not turn a good rollout into a failure. */
async function record(ctx: AppContext, rev: Revision): Promise<void> {
  await ctx.history
    .record(ctx.svc, rev, ctx.opts.historyLimit)
    .catch((err: Error) => ctx.say(`could not record revision ${rev.number}: ${err.message}`));
}
