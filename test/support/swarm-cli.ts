// compose-roll against the testbed's node1 for a stack deployed by deployStack, alone or under
// load through the testbed's Traefik polling every `poll` s (the load the Swarm suites share).
import http from "node:http";
import { dirname } from "node:path";
import { LoadProbe, type ProbeReport } from "../load/probe.js";
import { type CliRun, runCli } from "./cli.js";
import { dockerOn, type Poll, type SwarmStack, type Testbed } from "./swarm.js";

/** `compose-roll <args> -f <stack file> -p <stack>`, with Traefik's API and entrypoint at `poll` when given. */
export function swarmCli(
  tb: Testbed,
  stack: SwarmStack,
  args: string[],
  poll?: Poll,
  onSpawn?: (pid: number) => void,
  onStderr?: (stderr: string, kill: (s: NodeJS.Signals) => void) => void,
): Promise<CliRun> {
  const traefik = poll ? ["--traefik-api", stack.api(poll), "--traefik-url", stack.url(poll)] : [];
  return runCli([...args, "-f", stack.composeFile, "-p", stack.name, ...traefik], {
    cwd: dirname(stack.composeFile),
    env: { DOCKER_HOST: `unix://${tb.sockets[0]}` },
    timeoutMs: 420_000,
    ...(onSpawn ? { onSpawn } : {}),
    ...(onStderr ? { onStderr } : {}),
  });
}

/** The Swarm suites' load through the Traefik polling every `poll` s: stop() reports it. */
export function swarmLoad(stack: SwarmStack, poll: Poll): LoadProbe {
  return new LoadProbe({
    url: stack.url(poll),
    // At most 150 requests a second (plus the slow ones), as fast as answered below that.
    rate: 150,
    keepAliveClients: 4,
    freshClients: 2,
    slowClients: 1,
    slowMs: 1000,
    maxSeconds: 400,
    maxRequests: 80_000,
    timeoutMs: 10_000,
  }).start();
}

/**
 * `fn` under load through the Traefik polling every `poll` s (swarmLoad); `t0` is when the load
 * started on performance.now()'s clock (a sample's `at` counts from it).
 */
export async function underLoad<T>(
  stack: SwarmStack,
  poll: Poll,
  fn: (t0: number) => Promise<T>,
): Promise<{ result: T; load: ProbeReport; seconds: number; t0: number }> {
  const probe = swarmLoad(stack, poll);
  const t0 = performance.now();
  const result = await fn(t0);
  const seconds = (performance.now() - t0) / 1000;
  return { result, load: await probe.stop(), seconds, t0 };
}

/** swarmCli under load through the Traefik polling every `poll` s; `what` names the run in the log. */
export async function swarmCliUnderLoad(
  tb: Testbed,
  stack: SwarmStack,
  args: string[],
  poll: Poll,
  what: string,
  onSpawn?: (pid: number) => void,
  /** Told when the load started (performance.now()), as the run starts. */
  onStart?: (t0: number) => void,
): Promise<{ run: CliRun; load: ProbeReport; seconds: number; t0: number }> {
  const { result: run, ...rest } = await underLoad(stack, poll, (t0) => {
    onStart?.(t0);
    return swarmCli(tb, stack, args, poll, onSpawn);
  });
  const { load, seconds } = rest;
  const said = run.stderr.split("\n").filter((l) => l.startsWith("compose-roll:"));
  console.log(said.slice(-3).join("\n"));
  console.log(
    `swarm ${what} at the ${poll} s poll: exit ${run.code} in ${seconds.toFixed(1)} s; ${load.sent} requests (${(load.sent / load.seconds).toFixed(0)}/s), ${load.failed} failed, p99 ${load.p99.toFixed(0)} ms`,
  );
  return { run, ...rest };
}

export interface ServiceSpec {
  Labels: Record<string, string>;
  TaskTemplate: { ContainerSpec: { Image: string } };
  UpdateConfig?: unknown;
}

/** `docker service inspect` on node1. */
export const inspectService = async (tb: Testbed, service: string) =>
  JSON.parse(await dockerOn(tb, 1, ["service", "inspect", service]))[0] as {
    Version: { Index: number };
    Spec: ServiceSpec;
    PreviousSpec?: ServiceSpec;
  };

/** The service as stored (the CLI's inspect fills defaults into Spec only, never into PreviousSpec). */
export const storedService = (tb: Testbed, service: string) =>
  new Promise<{ Spec: ServiceSpec; PreviousSpec?: ServiceSpec }>((ok, fail) => {
    http
      .get({ socketPath: tb.sockets[0], path: `/services/${service}` }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += d;
        });
        res.on("end", () => ok(JSON.parse(body)));
      })
      .on("error", fail);
  });

/** Stand-in services in the Swarm (every stack's). */
export const standInsOn = async (tb: Testbed) =>
  (await dockerOn(tb, 1, ["service", "ls", "-q", "--filter", "label=compose-roll.stand-in"]))
    .split("\n")
    .filter(Boolean);
