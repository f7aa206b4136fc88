// The 3-manager Swarm testbed (scripts/swarm-testbed) from tests and the benchmark: start and
// stop it, deploy the demo app as a stack behind its Traefik (Swarm provider), cut and restore a
// node's link, and read what Swarm and Traefik see. Every Docker call goes to a node's own socket:
// the machine's engine is never in swarm mode.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./stack.js";

const run = promisify(execFile);
const SCRIPT = join(ROOT, "scripts/swarm-testbed");

/** Traefik's Swarm provider poll on the testbed: 15 s (its default) or 1 s. */
export type Poll = 15 | 1;

export interface Testbed {
  prefix: string;
  /** Unix sockets of node1..3's dockerd. */
  sockets: string[];
  /** node1..3's addresses on the testbed's bridge (reachable from the machine). */
  addresses: string[];
  hostAddress: string;
  bridgeNetns: string;
  /** node1..3's ports on the bridge: down = the node cut off. */
  bridgePorts: string[];
  /** The registry as the nodes name it (host:port). */
  registry: string;
  /** The attachable overlay network Traefik routes on. */
  network: string;
  traefik: Record<`${Poll}`, { container: string; web: string; api: string }>;
}

/** `scripts/swarm-testbed <cmd>`; up prints its timing on stderr, which is returned. */
export async function testbed(cmd: "up" | "down" | "status"): Promise<string> {
  const { stdout, stderr } = await run(SCRIPT, [cmd], { maxBuffer: 16 << 20 });
  return `${stdout}${stderr}`;
}

export async function testbedEnv(): Promise<Testbed> {
  return JSON.parse((await run(SCRIPT, ["env"])).stdout) as Testbed;
}

/** `docker` against node `n` (1-based). */
export async function dockerOn(tb: Testbed, n: number, args: string[]): Promise<string> {
  const sock = tb.sockets[n - 1];
  if (!sock) throw new Error(`the testbed has no node${n}`);
  const { stdout } = await run("docker", ["-H", `unix://${sock}`, ...args], { maxBuffer: 64 << 20 });
  return stdout.trim();
}

/** The demo app's image as the nodes pull it, e.g. appImage(tb, "v2"). */
export const appImage = (tb: Testbed, tag: string) => `${tb.registry}/compose-roll-demo/app:${tag}`;

export interface SwarmStackOptions {
  /** Stack name (prefixed with the testbed's prefix if it is not already). */
  name: string;
  replicas: number;
  /** App tag in the testbed's registry (default v1). */
  tag?: string;
  /** The service's update_config (default: Swarm's own, stop-first). */
  updateOrder?: "stop-first" | "start-first";
  /** At most one task per node (the placement that hangs Swarm's start-first at replicas = nodes). */
  maxPerNode?: number;
  /**
   * The users' router's priority: above that of another stack left on the testbed with the same
   * rule, so the load reaches this stack's service, whatever else is deployed.
   */
  priority?: number;
}

export interface SwarmStack {
  name: string;
  /** `<stack>_web`, as `docker service` names it. */
  service: string;
  composeFile: string;
  /** Traefik's entrypoint and API for a poll interval. */
  url(poll: Poll): string;
  api(poll: Poll): string;
  rm(): Promise<void>;
}

/** The stack file: the demo app, N replicas, its users' router on both testbed Traefiks. */
export function stackFile(tb: Testbed, o: SwarmStackOptions): string {
  const lb = `${o.name}-web`;
  const update = o.updateOrder ? `      update_config:\n        order: ${o.updateOrder}\n` : "";
  const placement = o.maxPerNode ? `      placement:\n        max_replicas_per_node: ${o.maxPerNode}\n` : "";
  return `services:
  web:
    image: ${appImage(tb, o.tag ?? "v1")}
    networks: [${tb.network}]
    stop_grace_period: 35s
    healthcheck:
      test: ["CMD-SHELL", "test ! -f /tmp/drain && python3 /app/healthcheck.py"]
      interval: 1s
      timeout: 10s
      retries: 3
      start_period: 60s
    deploy:
      replicas: ${o.replicas}
${update}${placement}      labels:
        traefik.enable: "true"
        traefik.http.routers.${lb}.rule: PathPrefix(\`/\`)
        traefik.http.routers.${lb}.entrypoints: web
${o.priority ? `        traefik.http.routers.${lb}.priority: "${o.priority}"\n` : ""}        traefik.http.services.${lb}.loadbalancer.server.port: "8000"
networks:
  ${tb.network}:
    external: true
`;
}

/**
 * `docker stack deploy` of the demo app from the registry (Swarm pins tag@digest), then waits
 * until every task runs (RUNNING = healthy on Swarm) and both Traefiks list N servers.
 */
export async function deployStack(tb: Testbed, opts: SwarmStackOptions): Promise<SwarmStack> {
  const name = opts.name.startsWith(tb.prefix) ? opts.name : `${tb.prefix}-${opts.name}`;
  const o = { ...opts, name };
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const composeFile = join(dir, "compose.yaml");
  writeFileSync(composeFile, stackFile(tb, o));
  await removeStack(tb, name); // a killed earlier run may have left it
  const stack: SwarmStack = {
    name,
    service: `${name}_web`,
    composeFile,
    url: (poll) => tb.traefik[`${poll}`].web,
    api: (poll) => tb.traefik[`${poll}`].api,
    rm: async () => {
      await removeStack(tb, name);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await dockerOn(tb, 1, ["stack", "deploy", "-c", composeFile, name]);
    await waitFor(120_000, `${o.replicas} running tasks of ${stack.service}`, async () => {
      return (await runningTasks(tb, stack.service)).length === o.replicas;
    });
    await Promise.all(([15, 1] as const).map((p) => waitForServers(stack.api(p), `${name}-web`, o.replicas)));
  } catch (err) {
    await stack.rm();
    throw err;
  }
  return stack;
}

/** `docker stack rm`, then waits until no task container of it is left on any node. */
export async function removeStack(tb: Testbed, name: string): Promise<void> {
  await dockerOn(tb, 1, ["stack", "rm", name]).catch(() => "");
  await waitFor(90_000, `stack ${name}'s containers gone`, async () => {
    const left = await Promise.all(
      tb.sockets.map((_, i) =>
        dockerOn(tb, i + 1, ["ps", "-aq", "--filter", `label=com.docker.stack.namespace=${name}`]).catch(
          () => "",
        ),
      ),
    );
    return left.every((x) => x === "");
  });
}

export interface Task {
  id: string;
  node: string;
  state: string;
  desired: string;
  image: string;
  /** The task's address on the overlay network. */
  address?: string;
}

/** Tasks of `service` whose desired and actual states are running, as Swarm reports them. */
export async function runningTasks(tb: Testbed, service: string): Promise<Task[]> {
  const out = await dockerOn(tb, 1, ["service", "ps", service, "-q", "--filter", "desired-state=running"]);
  const ids = out.split("\n").filter(Boolean);
  if (ids.length === 0) return [];
  const raw = JSON.parse(await dockerOn(tb, 1, ["inspect", ...ids])) as {
    ID: string;
    NodeID: string;
    DesiredState: string;
    Status: { State: string };
    Spec: { ContainerSpec: { Image: string } };
    NetworksAttachments?: { Addresses?: string[] }[];
  }[];
  return raw
    .map((t) => ({
      id: t.ID,
      node: t.NodeID,
      state: t.Status.State,
      desired: t.DesiredState,
      image: t.Spec.ContainerSpec.Image,
      address: t.NetworksAttachments?.[0]?.Addresses?.[0]?.split("/")[0],
    }))
    .filter((t) => t.state === "running");
}

export interface NodeInfo {
  id: string;
  hostname: string;
  status: string;
  manager: string;
  /** The node's number on the testbed (node1 = 1). */
  n: number;
}

/** `docker node ls` as node `via` sees it. */
export async function nodes(tb: Testbed, via = 1): Promise<NodeInfo[]> {
  const out = await dockerOn(tb, via, ["node", "ls", "--format", "{{json .}}"]);
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { ID: string; Hostname: string; Status: string; ManagerStatus: string })
    .map((x) => ({
      id: x.ID,
      hostname: x.Hostname,
      status: x.Status,
      manager: x.ManagerStatus,
      n: Number(/node(\d+)$/.exec(x.Hostname)?.[1] ?? 0),
    }));
}

/** The node that leads the managers' Raft, as node `via` sees it; undefined while there is none. */
export async function leader(tb: Testbed, via = 1): Promise<NodeInfo | undefined> {
  return (await nodes(tb, via)).find((x) => x.manager === "Leader");
}

/**
 * Leadership moved off node `n` when it holds it: node `n` demoted (swarmkit transfers the
 * leadership of a leader it demotes), then promoted again, and settled.
 */
export async function leadOff(tb: Testbed, n: number, probe: string): Promise<void> {
  const was = await leader(tb);
  if (was?.n !== n) return;
  const via = n === 1 ? 2 : 1;
  await dockerOn(tb, via, ["node", "demote", was.id]);
  await waitFor(60_000, `a leader other than node${n}`, async () => {
    const now = await leader(tb, via);
    return now !== undefined && now.n !== n;
  });
  await dockerOn(tb, via, ["node", "promote", was.id]);
  await waitFor(120_000, `node${n} a manager again, answering`, async () =>
    (await nodes(tb, n)).some((x) => x.n === n && x.manager === "Reachable"),
  );
  await settleManagers(tb, probe);
}

/**
 * Until the managers have settled on a leader: every manager reachable, then 5 Raft writes in a
 * row through node1, 2 s apart. A node back from a cut rejoins with a higher term and may force
 * an election: until then writes fail (`node lost leader status`).
 */
export async function settleManagers(tb: Testbed, probe: string): Promise<void> {
  await waitFor(180_000, "every manager reachable", async () =>
    (await nodes(tb)).every((x) => x.manager === "Leader" || x.manager === "Reachable"),
  );
  for (let ok = 0; ok < 5; ) {
    ok = (await raftWrites(tb, probe).catch(() => false)) ? ok + 1 : 0;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** A config created and removed through node1: the Raft store takes writes. */
async function raftWrites(tb: Testbed, name: string): Promise<boolean> {
  await dockerOn(tb, 1, ["config", "rm", name]).catch(() => "");
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const file = join(dir, "x");
  writeFileSync(file, "x");
  try {
    await dockerOn(tb, 1, ["config", "create", name, file]);
    await dockerOn(tb, 1, ["config", "rm", name]);
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cuts node `n` off the testbed (its bridge port down): no packet in or out, its daemon runs on. */
export async function cutNode(tb: Testbed, n: number): Promise<void> {
  await linkNode(tb, n, "down");
}

export async function restoreNode(tb: Testbed, n: number): Promise<void> {
  await linkNode(tb, n, "up");
}

async function linkNode(tb: Testbed, n: number, state: "up" | "down"): Promise<void> {
  const port = tb.bridgePorts[n - 1];
  if (!port) throw new Error(`the testbed has no node${n}`);
  await run("ip", ["-n", tb.bridgeNetns, "link", "set", port, state]);
}

/** The servers Traefik's load balancer `name@swarm` lists (empty when it has none). */
export async function traefikServers(api: string, name: string): Promise<string[]> {
  const res = await fetch(`${api}/api/http/services/${name}@swarm`).catch(() => undefined);
  if (!res?.ok) return [];
  const body = (await res.json()) as { loadBalancer?: { servers?: { url: string }[] } };
  return (body.loadBalancer?.servers ?? []).map((s) => s.url);
}

export async function waitForServers(api: string, name: string, n: number, ms = 90_000): Promise<void> {
  await waitFor(ms, `Traefik at ${api} listing ${n} servers for ${name}@swarm`, async () => {
    return (await traefikServers(api, name)).length === n;
  });
}

export async function waitFor(ms: number, what: string, ok: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
