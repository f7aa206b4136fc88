// `compose-roll up`: every changed service of the project rolled as one release, under one
// lock for the project. The plan (controller/release.ts) says the order: routed services
// first, each through the single-service rollout (roll.ts → deploy.ts: proof, drain, its own
// rollback, hooks and migration gate of the service that declares them); then, past that
// barrier, workers and singletons by their update_config (workers.ts). If any service fails,
// every service this release already changed goes back, last changed first, at full
// capacity (exit 5); old worker containers are kept stopped until then, so going back
// restarts exactly the old configuration.
import {
  type ComposeRollError,
  PreDeployError,
  RefusedError,
  RollbackFailedError,
  RolledBackError,
} from "../controller/errors.js";
import type { LockInfo, Revision, ServiceRef } from "../controller/ports.js";
import type { PlannedService, ReleasePlan } from "../controller/release.js";
import { rollbackOrder } from "../controller/release.js";
import type { Workers } from "../controller/release-ports.js";
import { current, nextRevision } from "../controller/revisions.js";
import { observe } from "../controller/rollout.js";
import type { AppContext } from "./context.js";
import { recordedImage } from "./images.js";
import { readHistory, takeLock } from "./lock.js";
import { roll, rollRelease } from "./roll.js";
import { interruptible } from "./signals.js";
import { undoTo } from "./undo.js";
import { commitWorker, revertWorker, rollWorker, type WorkerDeps, type WorkerRoll } from "./workers.js";

export interface ReleaseDeps {
  /** Project-wide ports: the lock, history, clock, reporter (a context that claims no Traefik file). */
  base: AppContext;
  /** The context of one routed service, opened as the single-service command opens it. */
  routed(service: string): Promise<AppContext>;
  workers: Workers;
  /** --image, for the one service named. */
  image?: string;
  /**
   * `undo` of a release (release-undo.ts): each service's recorded image to go back to; routed
   * ones through undo's path, workers by their rollback_config.
   */
  targets?: Record<string, ImageRef & { why: string }>;
}

type ImageRef = { ref: string; id: string };

export interface ReleaseResult {
  /** One id for the release, recorded with each service's revision (settings.release). */
  id: string;
  rolled: string[];
}

type Done =
  | { kind: "routed"; service: string; ctx: AppContext; previous: { ref: string; id: string } }
  | { kind: "worker"; service: string; roll: WorkerRoll; p: PlannedService };

/** The project lock's service name (no real service is called this). */
export const RELEASE_LOCK = "compose-roll.release";

export async function release(d: ReleaseDeps, plan: ReleasePlan): Promise<ReleaseResult> {
  const { base } = d;
  const clock = base.deps.clock;
  const id = `r${clock.now().toString(36)}`;
  for (const h of plan.held) base.say(h.line);
  for (const p of plan.services) for (const w of p.warnings) base.say(`warning: ${w}`);
  if (plan.services.length === 0) {
    base.say("nothing to roll: `docker compose up -d` would change no service");
    return { id, rolled: [] };
  }
  const svc: ServiceRef = { project: base.svc.project, service: RELEASE_LOCK };
  const lockCtx = { ...base, svc };
  const info = await releaseLockInfo(base, plan, svc);
  const { mine } = await takeLock(lockCtx, info);
  const lease = base.keeping.keep({ svc, info: mine, leaseMs: base.opts.lockLeaseMs, say: base.say });
  const wd: WorkerDeps = { workers: d.workers, clock, reporter: base.deps.reporter, say: base.say };
  const done: Done[] = [];
  // SIGINT/SIGTERM stops the release and puts back what it changed (a routed service's own
  // rollout listens too, and restores itself first).
  const stop = interruptible(base.say);
  const signal = AbortSignal.any([lease.signal, stop.signal]);
  try {
    for (const p of plan.services) {
      if (lease.signal.aborted) throw lease.lost() ?? new RefusedError("the release lock was lost");
      if (stop.signal.aborted)
        throw await goBack(d, wd, done, p.service, stop.signal.reason as Error, lease.signal);
      base.say(`${p.service} (${p.policy}): ${p.what.join(", ") || p.action}`);
      try {
        if (p.policy === "routed" && p.action === "recreate") {
          const ctx = await d.routed(p.service);
          ctx.settings.release = id;
          const previous = current(await observe(ctx.deps, ctx.svc)).image;
          // Without --image the routed rollout goes by the files (image and configuration) and
          // writes nothing back: they already say it.
          const target = d.targets?.[p.service];
          await (target ? undoTo(ctx, target) : rollRelease(ctx, d.image));
          if (previous) done.push({ kind: "routed", service: p.service, ctx, previous });
        } else {
          const r: WorkerRoll = { service: p.service, stopped: [], created: [], failures: 0 };
          done.push({ kind: "worker", service: p.service, roll: r, p });
          const target = d.targets?.[p.service];
          // Going back, a worker is put back as its rollback_config says (Swarm's rollback).
          const q = target ? { ...p, update: p.rollback } : p;
          await rollWorker(wd, q, base.opts.healthTimeoutMs, signal, r, target?.ref ?? d.image);
        }
      } catch (err) {
        // A pre-deploy step (a migration, the gate's refusal) failing before this release changed
        // anything leaves nothing to put back: its own exit code (6) says so, as for one service.
        if (err instanceof PreDeployError && done.length === 0) throw err;
        throw await goBack(d, wd, done, p.service, err as Error, lease.signal);
      }
    }
    for (const x of done) if (x.kind === "worker") await commitWorker(wd, x.roll);
    const refOf = (service: string) => d.targets?.[service]?.ref ?? d.image;
    if (base.opts.write) await writeBack(base, done, refOf);
    await recordWorkers(base, done, { id, at: mine.since }, refOf);
    return { id, rolled: done.map((x) => x.service) };
  } finally {
    stop.dispose();
    await lease.stop();
    if (!lease.lost())
      await base.lock
        .release(svc, mine)
        .catch((err: Error) => base.say(`could not release the release lock: ${err.message}`));
  }
}

/** Puts every changed service back, last changed first; the failing one's own rollout restored itself. */
async function goBack(
  d: ReleaseDeps,
  wd: WorkerDeps,
  done: Done[],
  failed: string,
  err: Error,
  signal: AbortSignal,
): Promise<Error> {
  const order = rollbackOrder(done.map((x) => x.service));
  // The failing service's own restore failed (exit 7): the others still go back, and the
  // release ends as a failed rollback, for `repair` to converge, never as a clean one.
  const ownRestore = err instanceof RollbackFailedError ? err : undefined;
  d.base.say(`${failed} failed (${err.message}); putting back ${order.join(", ") || "nothing else"}`);
  const state: string[] = [];
  for (const service of order) {
    const x = done.find((y) => y.service === service) as Done;
    try {
      if (x.kind === "worker") await revertWorker(wd, x.roll, signal);
      else {
        const img = await recordedImage(x.ctx, x.previous, "the release's rollback");
        await roll(x.ctx, img, `release rollback to ${x.previous.ref}`, false);
      }
      state.push(`${service}: back on its previous release`);
    } catch (e) {
      state.push(`${service}: NOT restored: ${(e as Error).message}`);
      return new RollbackFailedError(
        `${failed} failed (${err.message}) and putting ${service} back failed too: ${(e as Error).message}`,
        e as Error,
        state,
      );
    }
  }
  if (ownRestore) {
    return new RollbackFailedError(
      `release: ${failed} failed and could not be put back: ${err.message}; ${order.length ? `${order.join(", ")} restored` : "nothing else had changed"}`,
      ownRestore.cause,
      [...ownRestore.state, ...state],
    );
  }
  const rolled = new RolledBackError(
    `release rolled back: ${failed} failed: ${err.message}; ${order.length ? `${order.join(", ")} restored` : "nothing else had changed"}`,
    err,
  );
  const hint = (err as ComposeRollError).hint;
  return hint ? Object.assign(rolled, { hint }) : rolled;
}

/** What the project lock says: the release's first service's target image keeps the lock container. */
async function releaseLockInfo(base: AppContext, plan: ReleasePlan, svc: ServiceRef): Promise<LockInfo> {
  const names = plan.services.map((p) => p.service).join(",");
  const refs = plan.services.map((p) => base.compose.image(p.service)).filter((r): r is string => !!r);
  let image: { ref: string; id: string } | undefined;
  for (const ref of refs) {
    const got = await base.deps.engine.image(ref);
    if (got) {
      image = { ref: got.ref, id: got.id };
      break;
    }
  }
  if (!image) {
    throw new RefusedError(
      `none of the images of ${names} is on the Docker host`,
      "pull them first: docker compose pull",
    );
  }
  const tag = base.keeping.self();
  return {
    by: base.actor,
    since: new Date(base.deps.clock.now()).toISOString(),
    target: image,
    previous: image,
    revision: 0,
    replicas: 0,
    command: `up ${names}`,
    ...(tag ? { process: tag } : {}),
    leaseMs: base.opts.lockLeaseMs,
  };
}

/**
 * --image or an undo's image on a worker: written where the files declare its image, as the
 * single-service roll does (a routed service wrote its own back).
 */
async function writeBack(
  base: AppContext,
  done: Done[],
  refOf: (service: string) => string | undefined,
): Promise<void> {
  for (const w of done) {
    const ref = refOf(w.service);
    if (w.kind === "worker" && ref) await writeOne(base, w.service, ref);
  }
}

async function writeOne(base: AppContext, service: string, ref: string): Promise<void> {
  try {
    const plan = await base.compose.rewrite(service, ref);
    base.deps.reporter.event({
      type: "compose",
      result: plan.writes.length ? "written" : "unchanged",
      detail: plan.summary,
    });
  } catch (err) {
    base.say(
      `warning: the release succeeded but the compose files were not updated: ${(err as Error).message}`,
    );
  }
}

/** Each worker service's revision, numbered in its own history, tied to the release by its id. */
/**
 * `at` is the release's start, before any routed service's own record: `undo` without a service
 * takes the project's latest record, which stays the routed service's, as before releases.
 */
async function recordWorkers(
  base: AppContext,
  done: Done[],
  release: { id: string; at: string },
  refOf: (service: string) => string | undefined,
): Promise<void> {
  for (const x of done) {
    if (x.kind !== "worker" || x.roll.created.length === 0) continue;
    const svc = { project: base.svc.project, service: x.service };
    const ref = refOf(x.service) ?? base.compose.image(x.service);
    const image = ref ? await base.deps.engine.image(ref) : undefined;
    if (!image) continue;
    const history = await readHistory({ ...base, svc });
    // No record yet: what the old containers ran is what this release replaced (undo's target).
    const found = x.roll.previous;
    const foundId = found && (found.id ?? (await base.deps.engine.image(found.ref))?.id);
    const before = history[0]?.image ?? (found && foundId ? { ref: found.ref, id: foundId } : undefined);
    const rev: Revision = {
      number: nextRevision(history),
      image: { ref: image.ref, id: image.id },
      by: base.actor,
      at: release.at,
      result: "complete",
      ...(history[0] ? { previous: history[0].number } : {}),
      ...(before ? { previousImage: before } : {}),
      settings: { release: release.id, policy: x.p.policy },
    };
    await base.history
      .record(svc, rev, base.opts.historyLimit)
      .catch((err: Error) => base.say(`could not record ${x.service}'s revision: ${err.message}`));
  }
}
