// Wires the Swarm commands that change a service (app/swarm-roll.ts, swarm-undo.ts, swarm-repair.ts): the
// manager's Engine API, Traefik's API and entrypoint, and the lock and history kept as configs in
// the cluster's store.
import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { filesImage } from "../app/roll.js";
import { interruptible } from "../app/signals.js";
import { planRepairSwarm, planSwarm, type SwarmPlan } from "../app/swarm-dryrun.js";
import { repairSwarm, type SwarmRepairContext } from "../app/swarm-repair.js";
import { rollSwarm, type SwarmRollResult } from "../app/swarm-roll.js";
import { swarmSync } from "../app/swarm-sync.js";
import { undoImage, undoSwarm } from "../app/swarm-undo.js";
import { prepareSwarmWriteBack, type SwarmWriteBack, writeBackAfterRepair } from "../app/swarm-writeback.js";
import type { ComposeProject, LockInfo, ServiceRef } from "../controller/ports.js";
import { describeSwarm, type SwarmFacts } from "../controller/swarm-rules.js";
import { systemClock } from "../engine/index.js";
import { SwarmEngine } from "../engine/swarm/cluster.js";
import type { HostHttp } from "../host/hostio.js";
import { actor, isStale, pidAlive, type Staleness, selfTag } from "../state/index.js";
import { keepLease } from "../state/keeper.js";
import { SwarmHistory } from "../state/swarm-history.js";
import { SwarmLock } from "../state/swarm-lock.js";
import { TraefikApi } from "../traefik/api.js";
import { SwarmTraefik } from "../traefik/swarm.js";
import { formatSwarmDryRun, swarmSettings } from "./dryrun.js";
import { type OptionNames, type Options, parseOptions, type RawOptions } from "./options.js";

export interface SwarmTarget {
  docker: Docker;
  svc: ServiceRef;
  facts: SwarmFacts;
  http: HostHttp;
  say(line: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
  /** The compose file(s) found as on one host (-f, COMPOSE_FILE, or ./compose.yaml): the write-back's. */
  compose: ComposeProject;
  /** The options with the stack file's x-compose-roll blocks and COMPOSE_ROLL_* filled in. */
  raw: RawOptions;
  /** Where a value came from, for parseOptions' refusals. */
  names: OptionNames;
}

/** `<stack>_<service>`, as `docker service` names it. */
export const swarmName = (t: SwarmTarget) => t.facts.service?.name ?? `${t.svc.project}_${t.svc.service}`;

/** The command's options for a Swarm service (no compose project to read them from). */
export const swarmOptions = (t: SwarmTarget, raw: RawOptions): Options =>
  parseOptions(t.svc.service, raw, process.cwd(), false, t.names);

/** The lock and the revision history, as Swarm configs reached through the manager. */
export function swarmState(t: SwarmTarget) {
  const state = {
    docker: t.docker,
    onDamaged: (n: string, why: string) => t.debug({ n, why }, "damaged record"),
  };
  return { lock: new SwarmLock(state), history: new SwarmHistory(state) };
}

export async function rollSwarmCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  // No --image: the image the stack file names now (edit the tag, then roll), as on one host.
  const image = raw.image ?? filesImage(t.compose, t.svc.service);
  if (!raw.image) t.say(`rolling ${swarmName(t)} to ${image}, the image ${t.compose.files.join(", ")} name`);
  const files = writeBack(t, raw, image);
  if (raw.dryRun) return dryRunRollout(t, raw, async () => ({ pinned: image, ref: image }), files);
  await changeSwarm(t, raw, (ctx) => rollSwarm(ctx, image), files.settle);
}

/** What the compose files' write-back of `ref` needs. */
const writeBackOf = (t: SwarmTarget, raw: RawOptions, ref: string) => ({
  compose: t.compose,
  service: t.svc.service,
  ref,
  write: swarmOptions(t, raw).write,
  say: t.say,
});
/** The compose files' write-back of `ref`, planned (or refused) before anything changes. */
const writeBack = (t: SwarmTarget, raw: RawOptions, ref: string) =>
  prepareSwarmWriteBack(writeBackOf(t, raw, ref));

export async function undoSwarmCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  const opts = swarmOptions(t, raw);
  const state = swarmState(t);
  const ctx = { cluster: new SwarmEngine(t.docker), ...state, name: swarmName(t), svc: t.svc };
  const target = await undoImage(ctx, opts.toRevision);
  const files = writeBack(t, raw, target.ref);
  if (raw.dryRun) return dryRunRollout(t, raw, async () => target, files);
  await changeSwarm(t, raw, (c) => undoSwarm(c, opts.toRevision, target), files.settle);
}

/** The plan of a rollout to the image `target` names, printed as one host's dry run is; nothing changed. */
function dryRunRollout(
  t: SwarmTarget,
  raw: RawOptions,
  target: (opts: Options) => Promise<{ pinned: string; ref: string }>,
  files: SwarmWriteBack,
): Promise<void> {
  return printPlan(t, raw, async (opts) => {
    const { pinned, ref } = await target(opts);
    const ctx = { cluster: new SwarmEngine(t.docker), lock: swarmState(t).lock, name: swarmName(t) };
    const plan = await planSwarm({ ...ctx, svc: t.svc, drainMs: opts.drainMs }, pinned, ref);
    return { ...plan, compose: files.summary };
  });
}

/** A plan on stdout: one `{"type":"plan",…}` document with --json, else the table. */
async function printPlan(
  t: SwarmTarget,
  raw: RawOptions,
  plan: (opts: Options) => Promise<SwarmPlan & { compose?: string }>,
): Promise<void> {
  const opts = swarmOptions(t, raw);
  const shown = {
    settings: swarmSettings(raw, opts),
    engine: describeSwarm(t.facts),
    ...(await plan(opts)),
  };
  process.stdout.write(
    opts.json ? `${JSON.stringify({ type: "plan", ...shown })}\n` : formatSwarmDryRun(shown),
  );
}

/** Whether a holder of the lock is gone, as this process sees it: its pid here, else its lease. */
export function staleness(opts: Options): (holder: LockInfo) => Staleness {
  const self = actor();
  const tag = selfTag();
  return (holder) =>
    isStale(holder, { self, tag, now: new Date(), alive: pidAlive, staleAfterMs: opts.lockStaleMs });
}

export async function syncSwarmCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  const opts = swarmOptions(t, raw);
  const line = await swarmSync({
    cluster: new SwarmEngine(t.docker),
    lock: swarmState(t).lock,
    svc: t.svc,
    name: swarmName(t),
    stale: staleness(opts),
  });
  t.say(line);
}

export async function repairSwarmCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  if (raw.dryRun)
    return printPlan(t, raw, (opts) =>
      planRepairSwarm({
        cluster: new SwarmEngine(t.docker),
        ...swarmState(t),
        svc: t.svc,
        name: swarmName(t),
        drainMs: opts.drainMs,
        stale: staleness(opts),
      }),
    );
  await changeSwarm(
    t,
    raw,
    (ctx) => repairSwarm(ctx),
    async (r) => {
      if (r.ref) await writeBackAfterRepair(writeBackOf(t, raw, r.ref));
    },
  );
}

/** Traefik checked, then one change of the service under the cluster's lock; SIGINT/SIGTERM undo it. */
async function changeSwarm(
  t: SwarmTarget,
  raw: RawOptions,
  change: (ctx: SwarmRepairContext, opts: Options) => Promise<SwarmRollResult | undefined>,
  /** Once the service runs the image: the compose files' write-back. */
  after: (result: SwarmRollResult) => Promise<void>,
): Promise<void> {
  const opts = swarmOptions(t, raw);
  const name = swarmName(t);
  const api = new TraefikApi({ url: opts.traefikApi.href.replace(/\/$/, ""), http: t.http });
  await api.ping();
  t.say(describeSwarm(t.facts));
  // Traefik shows a change within its poll plus the provider's 2 s throttle: twice that on top.
  const pollMs = (t.facts.pollSeconds ?? 15) * 1000;
  const stop = interruptible(t.say);
  const state = swarmState(t);
  const self = actor();
  const tag = selfTag();
  const ctx: SwarmRepairContext = {
    signal: stop.signal,
    cluster: new SwarmEngine(t.docker, {
      clock: systemClock,
      onWait: (what, why) => t.say(`the Swarm has no leader (${why}): waiting for one to ${what}`),
    }),
    routing: new SwarmTraefik(
      api,
      { url: opts.traefikUrl.href.replace(/\/$/, ""), path: opts.probePath },
      t.http,
    ),
    clock: systemClock,
    say: t.say,
    token: () => randomBytes(12).toString("hex"),
    healthTimeoutMs: opts.healthTimeoutMs,
    routeTimeoutMs: opts.routeTimeoutMs + 2 * (pollMs + 2000),
    drainMs: opts.drainMs,
    ...state,
    actor: self,
    command: process.argv.slice(2).join(" "),
    svc: t.svc,
    name,
    historyLimit: opts.historyLimit,
    ...(tag ? { process: tag } : {}),
    stale: staleness(opts),
    leaseMs: opts.lockLeaseMs,
    waitMs: opts.waitMs,
    keep: (info) =>
      keepLease({
        lock: state.lock,
        svc: t.svc,
        info,
        leaseMs: opts.lockLeaseMs,
        clock: systemClock,
        say: t.say,
      }),
  };
  const result = await change(ctx, opts).finally(() => stop.dispose());
  if (!result) return;
  if (result.unchanged) t.say(`${name} already runs ${result.to}: nothing to do`);
  else
    t.say(
      `${name}: ${result.from} → ${result.to} in ${result.seconds.toFixed(1)} s (revision ${result.revision}, ${result.peakTasks} tasks at peak)`,
    );
  await after(result);
}
