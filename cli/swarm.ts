// Wires the Swarm commands that change a service (app/swarm-roll.ts, swarm-undo.ts, swarm-repair.ts): the
// manager's Engine API, Traefik's API and entrypoint, and the lock and history kept as configs in
// the cluster's store.
import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { interruptible } from "../app/signals.js";
import { planSwarm } from "../app/swarm-dryrun.js";
import { repairSwarm, type SwarmRepairContext } from "../app/swarm-repair.js";
import { rollSwarm, type SwarmRollResult } from "../app/swarm-roll.js";
import { undoImage, undoSwarm } from "../app/swarm-undo.js";
import { RefusedError } from "../controller/errors.js";
import type { ServiceRef } from "../controller/ports.js";
import { describeSwarm, type SwarmFacts } from "../controller/swarm-rules.js";
import { systemClock } from "../engine/index.js";
import { SwarmEngine } from "../engine/swarm/cluster.js";
import type { HostHttp } from "../host/hostio.js";
import { actor, isStale, pidAlive, selfTag } from "../state/index.js";
import { SwarmHistory } from "../state/swarm-history.js";
import { SwarmLock } from "../state/swarm-lock.js";
import { TraefikApi } from "../traefik/api.js";
import { SwarmTraefik } from "../traefik/swarm.js";
import { formatSwarmDryRun, swarmSettings } from "./dryrun.js";
import { type Options, parseOptions, type RawOptions } from "./options.js";

export interface SwarmTarget {
  docker: Docker;
  svc: ServiceRef;
  facts: SwarmFacts;
  http: HostHttp;
  say(line: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
}

/** `<stack>_<service>`, as `docker service` names it. */
export const swarmName = (t: SwarmTarget) => t.facts.service?.name ?? `${t.svc.project}_${t.svc.service}`;

/** The command's options for a Swarm service (no compose project to read them from). */
export const swarmOptions = (t: SwarmTarget, raw: RawOptions): Options =>
  parseOptions(t.svc.service, raw, process.cwd(), false);

/** The lock and the revision history, as Swarm configs reached through the manager. */
export function swarmState(t: SwarmTarget) {
  const state = {
    docker: t.docker,
    onDamaged: (n: string, why: string) => t.debug({ n, why }, "damaged record"),
  };
  return { lock: new SwarmLock(state), history: new SwarmHistory(state) };
}

export async function rollSwarmCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  const image = raw.image;
  if (!image) {
    throw new RefusedError(
      `${describeSwarm(t.facts)}: name the image to roll it to`,
      "run `compose-roll <service> --image <registry/app:tag>`",
    );
  }
  if (raw.dryRun) return dryRunSwarm(t, raw, async () => ({ pinned: image, ref: image }));
  await changeSwarm(t, raw, (ctx) => rollSwarm(ctx, image));
}

export async function undoSwarmCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  if (raw.dryRun) {
    const state = swarmState(t);
    const ctx = { cluster: new SwarmEngine(t.docker), ...state, name: swarmName(t), svc: t.svc };
    return dryRunSwarm(t, raw, (opts) => undoImage(ctx, opts.toRevision));
  }
  await changeSwarm(t, raw, (ctx, opts) => undoSwarm(ctx, opts.toRevision));
}

/** The plan of a rollout to the image `target` names, printed as one host's dry run is; nothing changed. */
async function dryRunSwarm(
  t: SwarmTarget,
  raw: RawOptions,
  target: (opts: Options) => Promise<{ pinned: string; ref: string }>,
): Promise<void> {
  const opts = swarmOptions(t, raw);
  const { pinned, ref } = await target(opts);
  const plan = await planSwarm(
    {
      cluster: new SwarmEngine(t.docker),
      lock: swarmState(t).lock,
      name: swarmName(t),
      svc: t.svc,
      drainMs: opts.drainMs,
    },
    pinned,
    ref,
  );
  const shown = {
    settings: swarmSettings(raw, opts),
    engine: describeSwarm(t.facts),
    ...plan,
  };
  process.stdout.write(
    opts.json ? `${JSON.stringify({ type: "plan", ...shown })}\n` : formatSwarmDryRun(shown),
  );
}

export async function repairSwarmCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  await changeSwarm(t, raw, (ctx) => repairSwarm(ctx));
}

/** Traefik checked, then one change of the service under the cluster's lock; SIGINT/SIGTERM undo it. */
async function changeSwarm(
  t: SwarmTarget,
  raw: RawOptions,
  change: (ctx: SwarmRepairContext, opts: Options) => Promise<SwarmRollResult | undefined>,
): Promise<void> {
  const opts = swarmOptions(t, raw);
  const name = swarmName(t);
  const api = new TraefikApi({ url: opts.traefikApi.href.replace(/\/$/, ""), http: t.http });
  await api.ping();
  t.say(describeSwarm(t.facts));
  // Traefik shows a change within its poll plus the provider's 2 s throttle: twice that on top.
  const pollMs = (t.facts.pollSeconds ?? 15) * 1000;
  const stop = interruptible(t.say);
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
    ...swarmState(t),
    actor: self,
    command: process.argv.slice(2).join(" "),
    svc: t.svc,
    name,
    historyLimit: opts.historyLimit,
    ...(tag ? { process: tag } : {}),
    stale: (holder) =>
      isStale(holder, {
        self,
        tag,
        now: new Date(),
        alive: pidAlive,
        staleAfterMs: opts.lockStaleMs,
      }),
  };
  const result = await change(ctx, opts).finally(() => stop.dispose());
  if (!result) return;
  if (result.unchanged) return t.say(`${name} already runs ${result.to}: nothing to do`);
  t.say(
    `${name}: ${result.from} → ${result.to} in ${result.seconds.toFixed(1)} s (revision ${result.revision}, ${result.peakTasks} tasks at peak)`,
  );
}
