// Rolling a service Traefik does not route (a Celery worker, a consumer, beat): compose
// creates the new containers, the old ones stop with their own stop signal and grace period
// so a task in hand finishes (Celery's warm shutdown on SIGTERM), and are kept, stopped,
// until the whole release is done: a failed release restarts exactly the old configuration.
import { AbortedError, HealthError } from "../controller/errors.js";
import { pollUntil } from "../controller/poll.js";
import type { Clock, Reporter } from "../controller/ports.js";
import type { PlannedService } from "../controller/release.js";
import type { WorkerState, Workers } from "../controller/release-ports.js";

export interface WorkerDeps {
  workers: Workers;
  clock: Clock;
  reporter: Reporter;
  say(line: string): void;
}

/** What a worker roll changed, to commit (remove the old ones) or revert. */
export interface WorkerRoll {
  service: string;
  /** The old containers it stopped, kept to restart. */
  stopped: string[];
  /** The new containers compose created. */
  created: string[];
  /** Failed batches tolerated by failure_action continue or max_failure_ratio. */
  failures: number;
  /** The image the old containers ran: a worker's first record says what the release replaced. */
  previous?: { ref: string; id?: string };
}

/**
 * Rolls `p` by its update_config: batches of `parallelism`, start-first (new ready, then old
 * stopped) or stop-first (old stopped, then new); `delay` between batches, `monitor` after
 * each. A failure beyond max_failure_ratio throws with the roll so far in `roll`, for the
 * release to revert.
 */
export async function rollWorker(
  d: WorkerDeps,
  p: PlannedService,
  timeoutMs: number,
  signal: AbortSignal,
  roll: WorkerRoll,
  /** --image: created with this image instead of the files'. */
  ref?: string,
): Promise<void> {
  const all = await d.workers.list(p.service);
  if (p.action === "trim") {
    // Compose's extras (a killed release's old containers): stopped with their own grace, removed.
    const extras = all.filter((c) => p.extras.includes(c.name)).map((c) => c.id);
    await stopAll(d, p, extras, roll);
    return;
  }
  if (p.action === "start") {
    const stopped = all.filter((c) => !c.running).map((c) => c.id);
    await startReady(d, p, stopped, timeoutMs, signal);
    return;
  }
  const olds = all.filter((c) => c.running);
  const [old] = olds;
  if (old) roll.previous = { ref: old.image, ...(old.imageId ? { id: old.imageId } : {}) };
  if (p.action !== "recreate" || olds.length === 0) {
    const ids = await d.workers.create(p.service, p.replicas, ref);
    roll.created.push(...ids);
    await startReady(d, p, ids, timeoutMs, signal);
    return;
  }
  const n = Math.max(1, Math.min(p.update.parallelism || olds.length, olds.length));
  for (let i = 0; i < olds.length; i += n) {
    if (i > 0 && p.update.delayMs) await d.clock.sleep(p.update.delayMs, signal);
    const batch = olds.slice(i, i + n).map((c) => c.id);
    if (p.update.order === "stop-first") await stopAll(d, p, batch, roll);
    const ids = await d.workers.create(p.service, batch.length, ref);
    roll.created.push(...ids);
    try {
      await startReady(d, p, ids, timeoutMs, signal);
      if (p.update.monitorMs) await monitor(d, p, ids, signal);
    } catch (err) {
      roll.failures++;
      const ratio = roll.failures / Math.ceil(olds.length / n);
      if (p.update.failureAction !== "continue" || ratio > p.update.maxFailureRatio) throw err;
      d.say(`${p.service}: ${(err as Error).message}; update_config.failure_action: continue`);
      continue;
    }
    if (p.update.order !== "stop-first") await stopAll(d, p, batch, roll);
  }
}

async function stopAll(d: WorkerDeps, p: PlannedService, ids: string[], roll: WorkerRoll): Promise<void> {
  for (const id of ids) {
    d.reporter.event({
      type: "replica",
      name: id.slice(0, 12),
      image: p.service,
      state: "draining",
      detail: `stopping with ${p.stopSignal}, up to ${p.stopGraceMs / 1000}s`,
    });
  }
  roll.stopped.push(...ids);
  await Promise.all(ids.map((id) => d.workers.stop(id)));
}

/** Starts the new containers and waits until each is ready: healthy, or running long enough. */
async function startReady(
  d: WorkerDeps,
  p: PlannedService,
  ids: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  for (const id of ids) {
    await d.workers.start(id);
    d.reporter.event({ type: "replica", name: id.slice(0, 12), image: p.service, state: "adding" });
  }
  const runningMs = "runningMs" in p.readyBy ? p.readyBy.runningMs : 0;
  await Promise.all(ids.map((id) => ready(d, p.service, id, runningMs, timeoutMs + runningMs, signal)));
}

/**
 * Ready: its healthcheck says healthy (whatever the plan assumed: the image may declare one),
 * or, without one, it has kept running for `runningMs`.
 */
export async function ready(
  d: Pick<WorkerDeps, "workers" | "clock" | "reporter">,
  service: string,
  id: string,
  runningMs: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  // Running time is counted on our clock from the first time we see this start of it (the
  // Docker host's clock may differ); a restart (another StartedAt) counts again from zero.
  let seen: { startedAt: number; at: number } | undefined;
  const verdict = await pollUntil(
    d.clock.now() + timeoutMs,
    d.clock,
    signal,
    async () => {
      const s = await d.workers.state(id);
      const now = d.clock.now();
      if (s?.running && seen?.startedAt !== s.startedAt) seen = { startedAt: s.startedAt, at: now };
      return judge(s, runningMs, now - (seen?.at ?? now));
    },
    // Say why it stopped (a signal, the lost lock), not only that it did.
    {
      everyMs: 250,
      aborted: () => (signal.reason instanceof Error ? signal.reason : new AbortedError("interrupted")),
    },
  );
  if (verdict === "ready") {
    d.reporter.event({ type: "replica", name: id.slice(0, 12), image: service, state: "healthy" });
    return;
  }
  d.reporter.event({ type: "replica", name: id.slice(0, 12), image: service, state: "failed" });
  throw new HealthError(
    `${service}'s new container ${id.slice(0, 12)} ${verdict ?? `was not ready within ${timeoutMs / 1000}s`}`,
    `see \`docker logs ${id.slice(0, 12)}\``,
  );
}

/** "ready", a failure in words, or undefined: not yet. `upMs`: how long we have seen it running. */
export function judge(s: WorkerState | undefined, runningMs: number, upMs: number): string | undefined {
  if (!s) return "is gone";
  if (!s.running) return `exited with code ${s.exitCode}`;
  if (s.health === "unhealthy") return "is unhealthy";
  if (s.health) return s.health === "healthy" ? "ready" : undefined;
  return upMs >= runningMs ? "ready" : undefined;
}

/** update_config.monitor: the new containers must stay up (and healthy) this long. */
async function monitor(d: WorkerDeps, p: PlannedService, ids: string[], signal: AbortSignal): Promise<void> {
  const until = d.clock.now() + p.update.monitorMs;
  while (d.clock.now() < until) {
    for (const id of ids) {
      const s = await d.workers.state(id);
      if (!s?.running || s.health === "unhealthy")
        throw new HealthError(
          `${p.service}'s new container ${id.slice(0, 12)} failed within update_config.monitor (${p.update.monitorMs / 1000}s)`,
          `see \`docker logs ${id.slice(0, 12)}\``,
        );
    }
    await d.clock.sleep(Math.min(500, Math.max(1, until - d.clock.now())), signal);
  }
}

/** The release is done: the old containers go. */
export async function commitWorker(d: WorkerDeps, roll: WorkerRoll): Promise<void> {
  for (const id of roll.stopped)
    await d.workers
      .remove(id)
      .catch((e: Error) => d.say(`could not remove ${id.slice(0, 12)}: ${e.message}`));
}

/**
 * The release failed: the new containers go (stopped with their grace: they may hold tasks
 * too), the old ones start again and must be running before the next service is put back.
 */
export async function revertWorker(d: WorkerDeps, roll: WorkerRoll, signal: AbortSignal): Promise<void> {
  await Promise.all(
    roll.created.map(async (id) => {
      await d.workers.stop(id).catch(() => {});
      await d.workers.remove(id);
    }),
  );
  for (const id of roll.stopped) await d.workers.start(id);
  await Promise.all(roll.stopped.map((id) => ready(d, roll.service, id, 0, 120_000, signal)));
}
