// What `status` and `history` report, read-only: the service as it runs and as Traefik
// routes it, its drift, its lock, its revisions. A project the Docker host has never heard
// of is refused rather than shown as an empty, all-is-well service.
import { figuresOf } from "../controller/bake.js";
import { RefusedError } from "../controller/errors.js";
import type { Observation } from "../controller/model.js";
import type { LockInfo, Revision, Routing } from "../controller/ports.js";
import { historyLost } from "../controller/revisions.js";
import { observe } from "../controller/rollout.js";
import type { AppContext } from "./context.js";
import { drift } from "./drift.js";

export type InspectContext = Pick<AppContext, "deps" | "svc" | "lock" | "history" | "knownProject"> &
  Partial<Pick<AppContext, "traffic">>;

export interface ServiceStatus {
  obs: Observation;
  lock?: LockInfo;
  routing: Routing;
  /** Traefik's own view, where the router has one (label mode): each server and its status. */
  view?: { servers: string[]; status: Record<string, string> };
  /** Label mode: how an old container will be drained, or that a rollout will refuse. */
  drain?: string;
  drift: string[];
  /** The servers Traefik routes to, by its own view where it has one. */
  routed: string[];
  /** Traefik does not serve exactly the running containers: `sync` fixes that. */
  unsynced: boolean;
  /** A rollout in progress with old and new serving: each image's figures in the access log's last 30 s. */
  bake?: string[];
}

export async function status(ctx: InspectContext): Promise<ServiceStatus> {
  const [obs, lock] = await Promise.all([observe(ctx.deps, ctx.svc), ctx.lock.read(ctx.svc)]);
  if (obs.replicas.length === 0) await checkProjectKnown(ctx);
  const problems = drift(obs);
  const routing = ctx.deps.router.describe();
  const view = await ctx.deps.router.view?.();
  const drain =
    routing.mode === "labels"
      ? (routing.drain ??
        `none: a rollout will refuse (${routing.refusal?.hint ?? "see --allow-unsafe-drain"})`)
      : undefined;
  const routed = new Set(view ? view.servers : obs.routed);
  // Servers by IP (an older compose-roll), or containers compose recreated: sync fixes both.
  const unsynced =
    obs.replicas.some((r) => r.running && r.url && !routed.has(r.url)) ||
    obs.routed.some((u) => !obs.replicas.some((r) => r.url === u));
  const bake = lock ? await bakeFigures(ctx, obs) : undefined;
  return {
    obs,
    ...(lock ? { lock } : {}),
    ...(bake ? { bake } : {}),
    routing,
    ...(view ? { view } : {}),
    ...(drain ? { drain } : {}),
    drift: problems,
    routed: [...routed],
    unsynced,
  };
}

/** How far back `status` looks in the access log for a bake in progress. */
const BAKE_SECONDS = 30;

/**
 * Old and new replicas serving side by side under a held lock is a bake (or a rollout) in
 * progress: per image, what Traefik logged for them in the same last 30 s. Best effort:
 * without an access log, status shows the rest.
 */
async function bakeFigures(ctx: InspectContext, obs: Observation): Promise<string[] | undefined> {
  const serving = obs.replicas.filter((r) => r.running && r.url && obs.routed.includes(r.url));
  const images = [...new Set(serving.map((r) => r.imageRef))].sort();
  if (images.length < 2 || !ctx.traffic?.recent) return undefined;
  const feed = await ctx.traffic.recent(BAKE_SECONDS, new AbortController().signal).catch(() => undefined);
  const latest = feed?.latest();
  if (!feed || latest === undefined) return undefined;
  const seconds = Array.from({ length: BAKE_SECONDS }, (_, i) => latest - BAKE_SECONDS + i);
  return images.map((image) => {
    const rs = serving.filter((r) => r.imageRef === image);
    const f = figuresOf(
      rs.map((r) => feed.series(r.url as string)),
      seconds,
    );
    const rate = f.requests ? ((100 * f.errors) / f.requests).toFixed(1) : "0.0";
    const p99 = f.p99 === undefined ? "-" : `${Math.round(f.p99)} ms`;
    return `${image} (${rs.map((r) => r.name).join(", ")}): 5xx ${rate} % of ${f.requests} requests, p99 ${p99} in the last ${BAKE_SECONDS} s`;
  });
}

export async function history(ctx: InspectContext): Promise<{ revisions: Revision[]; lost?: string }> {
  const revisions = await ctx.history.list(ctx.svc);
  // "No revisions" for a project name with a typo in it would read as "never rolled".
  if (revisions.length === 0) await checkProjectKnown(ctx);
  // Only to tell "never rolled" from "records deleted"; history must work without Traefik.
  const obs = revisions.length ? undefined : await observe(ctx.deps, ctx.svc).catch(() => undefined);
  const lost = obs && historyLost(ctx.svc, obs, revisions);
  return { revisions, ...(lost ? { lost } : {}) };
}

/**
 * A project the Docker host has no container of (running or not) and no rollout recorded
 * for is a typo or the wrong host: an empty table would say "all is well" instead.
 */
async function checkProjectKnown(ctx: InspectContext): Promise<void> {
  const { project } = ctx.svc;
  if (await ctx.knownProject(project)) return;
  throw new RefusedError(
    `no compose project ${project} on this Docker host: no container of it, and no compose-roll rollout of it recorded`,
    "`docker compose ls -a` lists the projects there: name one with -p (a project not started yet: `docker compose up -d` first)",
  );
}
