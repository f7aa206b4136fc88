// Wires the Swarm rollout (app/swarm-roll.ts): the manager's Engine API, Traefik's API and
// entrypoint, and the lock and history kept as configs in the cluster's store.
import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { interruptible } from "../app/signals.js";
import { rollSwarm } from "../app/swarm-roll.js";
import { RefusedError } from "../controller/errors.js";
import type { ServiceRef } from "../controller/ports.js";
import { describeSwarm, type SwarmFacts } from "../controller/swarm-rules.js";
import { systemClock } from "../engine/index.js";
import { SwarmEngine } from "../engine/swarm/cluster.js";
import type { HostHttp } from "../host/hostio.js";
import { actor } from "../state/index.js";
import { SwarmHistory } from "../state/swarm-history.js";
import { SwarmLock } from "../state/swarm-lock.js";
import { TraefikApi } from "../traefik/api.js";
import { SwarmTraefik } from "../traefik/swarm.js";
import { parseOptions, type RawOptions } from "./options.js";

export interface SwarmTarget {
  docker: Docker;
  svc: ServiceRef;
  facts: SwarmFacts;
  http: HostHttp;
  say(line: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
}

export async function rollSwarmCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  if (!raw.image) {
    throw new RefusedError(
      `${describeSwarm(t.facts)}: name the image to roll it to`,
      "run `compose-roll <service> --image <registry/app:tag>`",
    );
  }
  const opts = parseOptions(t.svc.service, raw, process.cwd(), false);
  const name = t.facts.service?.name ?? `${t.svc.project}_${t.svc.service}`;
  const api = new TraefikApi({ url: opts.traefikApi.href.replace(/\/$/, ""), http: t.http });
  await api.ping();
  t.say(describeSwarm(t.facts));
  const state = {
    docker: t.docker,
    onDamaged: (n: string, why: string) => t.debug({ n, why }, "damaged record"),
  };
  // Traefik shows a change within its poll plus the provider's 2 s throttle: twice that on top.
  const pollMs = (t.facts.pollSeconds ?? 15) * 1000;
  const stop = interruptible(t.say);
  const result = await rollSwarm(
    {
      signal: stop.signal,
      cluster: new SwarmEngine(t.docker),
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
      lock: new SwarmLock(state),
      history: new SwarmHistory(state),
      actor: actor(),
      command: process.argv.slice(2).join(" "),
      svc: t.svc,
      name,
      historyLimit: opts.historyLimit,
    },
    raw.image,
  ).finally(() => stop.dispose());
  if (result.unchanged) return t.say(`${name} already runs ${result.to}: nothing to do`);
  t.say(
    `${name}: ${result.from} → ${result.to} in ${result.seconds.toFixed(1)} s (revision ${result.revision}, ${result.peakTasks} tasks at peak)`,
  );
}
