// The benchmark's Swarm stack (issue 12's `swarm` strategy): the same demo app, 3 replicas,
// the same healthcheck (drain file, 1 s interval, 10 s timeout, 3 retries) and stop grace as
// examples/demo-labels, but as a Swarm service behind Traefik's Swarm provider, so that
// `docker service update --update-order start-first` can be measured under the same load.
//
// Swarm mode is switched on for the stack (`docker swarm init` on loopback, a single-node
// manager on this same engine: swarm services can run the locally built images) and off again
// by down() when this stack switched it on. Traefik runs as a plain container on the service's
// attachable overlay network, published on loopback only (a Swarm-published port would listen
// on every interface). Everything else is Traefik's and Swarm's defaults, as a user gets them:
// the Swarm provider polls the Swarm API every 15 s (refreshSeconds), it routes to the tasks'
// own addresses (lbswarm false), and Swarm stops an old task as soon as its replacement runs.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Stack, StackOptions } from "./stacks.js";

const run = promisify(execFile);
const docker = async (args: string[]) => (await run("docker", args, { maxBuffer: 16 << 20 })).stdout.trim();

/** The Swarm service's name: `docker service update` takes it. */
export const swarmService = (stack: Stack) => `${stack.project}-web`;

export async function swarmUp(opts: StackOptions): Promise<Stack> {
  const project = `cr-bench-${opts.slot}`;
  const names = { web: `${project}-web`, traefik: `${project}-traefik`, net: `${project}-net` };
  const http = 19600 + 2 * opts.slot;
  const inited = await ensureSwarm();
  await cleanup(names); // a killed earlier bench may have left them behind
  const stack: Stack = {
    dir: process.cwd(),
    project,
    routing: "swarm",
    replicas: opts.replicas,
    env: {},
    httpUrl: `http://127.0.0.1:${http}`,
    apiUrl: `http://127.0.0.1:${http + 1}`,
    compose: () => Promise.reject(new Error("a Swarm stack has no compose project")),
    down: async () => {
      await cleanup(names);
      if (inited) await docker(["swarm", "leave", "--force"]);
    },
  };
  try {
    await docker(["network", "create", "--driver", "overlay", "--attachable", names.net]);
    await docker([
      "run",
      "-d",
      "--name",
      names.traefik,
      "--network",
      names.net,
      "-p",
      `127.0.0.1:${http}:80`,
      "-p",
      `127.0.0.1:${http + 1}:8080`,
      "-v",
      "/var/run/docker.sock:/var/run/docker.sock:ro",
      "compose-roll/traefik:3.7.15",
      // As examples/demo-labels has them, with the Swarm provider for the Docker one.
      "--entrypoints.web.address=:80",
      "--api.insecure=true",
      "--entrypoints.traefik.address=:8080",
      "--ping=true",
      "--providers.swarm=true",
      "--providers.swarm.exposedbydefault=false",
      `--providers.swarm.network=${names.net}`,
      ...(opts.swarmRefreshS ? [`--providers.swarm.refreshSeconds=${opts.swarmRefreshS}s`] : []),
      "--log.level=INFO",
      "--entrypoints.web.http.aliasheadersstrategy=delete",
      "--serversTransport.forwardingTimeouts.idleConnTimeout=2s",
      "--global.checknewversion=false",
      "--global.sendanonymoususage=false",
    ]);
    await docker([
      "service",
      "create",
      "--detach=false",
      "--quiet",
      // The images are built on this engine and exist in no registry.
      "--no-resolve-image",
      "--name",
      names.web,
      "--network",
      names.net,
      "--replicas",
      String(opts.replicas),
      "--stop-grace-period",
      "35s",
      "--health-cmd",
      "test ! -f /tmp/drain && python3 /app/healthcheck.py",
      "--health-interval",
      opts.slowBoot ? "2s" : "1s",
      "--health-timeout",
      "10s",
      "--health-retries",
      "3",
      "--health-start-period",
      "60s",
      ...(opts.slowBoot ? ["--env", "BOOT_DELAY=3"] : []),
      "--label",
      "traefik.enable=true",
      "--label",
      "traefik.http.routers.web.rule=PathPrefix(`/`)",
      "--label",
      "traefik.http.routers.web.entrypoints=web",
      // Swarm has no exposed-port guess: the Swarm provider needs the port named.
      "--label",
      "traefik.http.services.web.loadbalancer.server.port=8000",
      opts.image ?? "compose-roll-demo/app:v1",
    ]);
    await waitForServers(stack.apiUrl, opts.replicas);
  } catch (err) {
    await stack.down();
    throw err;
  }
  return stack;
}

/** Switches swarm mode on unless it is; true when this call did (down() switches it off). */
async function ensureSwarm(): Promise<boolean> {
  const state = await docker(["info", "--format", "{{.Swarm.LocalNodeState}}"]);
  if (state === "active") return false;
  await docker(["swarm", "init", "--advertise-addr", "127.0.0.1"]);
  return true;
}

async function cleanup(names: { web: string; traefik: string; net: string }): Promise<void> {
  await docker(["service", "rm", names.web]).catch(() => "");
  await docker(["rm", "-f", names.traefik]).catch(() => "");
  // The network goes once the service's tasks are gone (their removal takes a moment).
  for (let i = 0; i < 60; i++) {
    const left = await docker(["network", "ls", "-q", "--filter", `name=^${names.net}$`]).catch(() => "");
    if (!left) return;
    const removed = await docker(["network", "rm", names.net]).then(
      () => true,
      () => false,
    );
    if (removed) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Traefik's Swarm provider lists the tasks at its next poll (by default every 15 s): wait for `n`. */
async function waitForServers(apiUrl: string, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${apiUrl}/api/http/services/web@swarm`).catch(() => undefined);
    if (res?.ok) {
      const body = (await res.json()) as { loadBalancer?: { servers?: unknown[] } };
      if ((body.loadBalancer?.servers ?? []).length === n) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Traefik's Swarm provider does not list ${n} servers for web@swarm within 60 s`);
}
