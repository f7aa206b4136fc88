// Read-only commands (history, status, lock status) and the one lock repair a human may do
// (lock release). They print for people, or one JSON document with --json.
import { drift } from "../app/drift.js";
import { describeLock } from "../app/lock.js";
import { RefusedError } from "../controller/errors.js";
import type { Revision } from "../controller/ports.js";
import { historyLost } from "../controller/revisions.js";
import { observe } from "../controller/rollout.js";
import { human } from "../state/index.js";
import { type Context, openContext } from "./context.js";
import type { RawOptions } from "./options.js";

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function table(rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const r of rows)
    out(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    );
}

export async function historyCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const ctx = await openContext(service, raw, { traefik: false });
  const revs = await ctx.history.list(ctx.svc);
  // "No revisions" for a project name with a typo in it would read as "never rolled".
  if (revs.length === 0) await checkProjectKnown(ctx);
  // Only to tell "never rolled" from "records deleted"; history must work without Traefik.
  const obs = revs.length ? undefined : await observe(ctx.deps, ctx.svc).catch(() => undefined);
  const lost = obs && historyLost(ctx.svc, obs, revs);
  if (ctx.opts.json) {
    return out(JSON.stringify({ service: ctx.svc, revisions: revs, ...(lost ? { lost } : {}) }));
  }
  if (lost) ctx.say(lost);
  if (revs.length === 0) return out(`no revisions of ${ctx.svc.project}/${ctx.svc.service} recorded`);
  table([
    ["REV", "IMAGE", "RESULT", "WHEN", "BY", "REPLACED"],
    ...revs.map((r: Revision) => [
      String(r.number),
      r.image.ref,
      r.result,
      r.at,
      `${r.by.user}@${r.by.host}${r.by.ciJob ? ` ${r.by.ciJob}` : ""}`,
      r.previousImage?.ref ?? "-",
    ]),
  ]);
}

export async function statusCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const ctx = await openContext(service, raw, { traefik: false, mode: true });
  const [obs, lock] = await Promise.all([observe(ctx.deps, ctx.svc), ctx.lock.read(ctx.svc)]);
  if (obs.replicas.length === 0) await checkProjectKnown(ctx);
  const problems = drift(obs);
  const routing = ctx.deps.router.describe();
  // Label mode: Traefik's own view (every server its API lists, and the status it gives it).
  const view = await ctx.deps.router.view?.();
  const drain =
    routing.mode === "labels"
      ? (routing.drain ??
        `none: a rollout will refuse (${routing.refusal?.hint ?? "see --allow-unsafe-drain"})`)
      : undefined;
  if (ctx.opts.json)
    return out(
      JSON.stringify({
        service: ctx.svc,
        mode: routing.mode,
        ...(routing.mode === "labels" ? { traefikService: routing.service, drain, traefik: view } : {}),
        ...obs,
        drift: problems,
        lock: lock ?? null,
      }),
    );
  out(`mode: ${routing.summary}`);
  if (drain) out(`drain: ${drain}`);
  const routed = new Set(view ? view.servers : obs.routed);
  const inTraefik = (url: string | undefined) =>
    url && routed.has(url) ? `yes ${url}${view?.status[url] ? ` ${view.status[url]}` : ""}` : "no";
  table([
    ["CONTAINER", "IMAGE", "STATE", "HEALTH", "IN TRAEFIK", "REVISION"],
    ...obs.replicas.map((r) => [
      r.name,
      r.imageRef,
      r.running ? "running" : `exited (${r.exitCode ?? "?"})`,
      r.health,
      inTraefik(r.url),
      r.revision ? String(r.revision) : "-",
    ]),
  ]);
  out(lock ? `lock: held — ${describeLock(lock)}` : "lock: free");
  out(problems.length ? `drift:\n${problems.map((p) => `  - ${p}`).join("\n")}` : "drift: none");
  // Servers by IP (an older compose-roll), or containers compose recreated: sync fixes both.
  const unsynced =
    obs.replicas.some((r) => r.running && r.url && !routed.has(r.url)) ||
    obs.routed.some((u) => !obs.replicas.some((r) => r.url === u));
  if (unsynced)
    out(`to make Traefik serve exactly the running containers: compose-roll sync ${ctx.svc.service}`);
}

/**
 * A project the Docker host has no container of (running or not) and no rollout recorded
 * for is a typo or the wrong host: an empty table would say "all is well" instead.
 */
async function checkProjectKnown(ctx: Context): Promise<void> {
  const { project } = ctx.svc;
  if ((await ctx.projectHasContainers(project)) || (await ctx.history.latestIn(project))) return;
  throw new RefusedError(
    `no compose project ${project} on this Docker host: no container of it, and no compose-roll rollout of it recorded`,
    "`docker compose ls -a` lists the projects there: name one with -p (a project not started yet: `docker compose up -d` first)",
  );
}

export async function lockStatusCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const ctx = await openContext(service, raw, { traefik: false });
  const lock = await ctx.lock.read(ctx.svc);
  if (ctx.opts.json) return out(JSON.stringify({ service: ctx.svc, lock: lock ?? null }));
  const lease =
    lock?.leaseMs !== undefined && lock.renewedAgoMs !== undefined
      ? `; lease ${human(lock.leaseMs)}, last renewed ${human(lock.renewedAgoMs)} ago (Docker host's clock)`
      : "";
  out(
    lock
      ? `held — ${describeLock(lock)}${lease}`
      : `free: no rollout of ${ctx.svc.project}/${ctx.svc.service} holds it`,
  );
}

export async function lockReleaseCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const ctx = await openContext(service, raw, { traefik: false });
  const lock = await ctx.lock.read(ctx.svc);
  if (!lock) return out("free: nothing to release");
  await ctx.lock.release(ctx.svc);
  // Said loudly: a live rollout whose lock is released can now race another one.
  ctx.say(`released the lock of ${describeLock(lock)}`);
  ctx.say(
    "if that rollout was still running, run `compose-roll status` and `compose-roll repair` once it ends",
  );
}
