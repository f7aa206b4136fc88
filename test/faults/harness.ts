// The fault matrix's stage: a private copy of the demo stack whose Traefik directory is a
// small tmpfs (so a case can fill it or make it read-only under Traefik's feet), a TCP relay
// in front of Traefik's API (so a case can cut it), the load probe, and the one check every
// case ends with: N healthy replicas on one image, Traefik's file and API listing exactly
// them, no probe router left, the lock free.
import { execFile, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { parse } from "yaml";
import { formatReport, LoadProbe, type ProbeReport } from "../load/probe.js";
import { type CliRun, runCli, stackArgs } from "../support/cli.js";
import { type DemoStack, freePort, startDemo } from "../support/stack.js";

const exec = promisify(execFile);
export const docker = new Docker();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const app = (tag: string) => `compose-roll-demo/app:${tag}`;
export const REPLICAS = 3;

/** A TCP relay that can drop every connection and refuse new ones, then come back on the same port. */
export interface Relay {
  port: number;
  /** Resets every open connection and stops listening. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(target: { host?: string; port: number }): Promise<Relay> {
  const port = await freePort();
  const open = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((ok, fail) => {
      const s = createServer((client) => {
        const up = tcpConnect(target.port, target.host ?? "127.0.0.1");
        open.add(client).add(up);
        const end = () => {
          client.destroy();
          up.destroy();
          open.delete(client);
          open.delete(up);
        };
        client.on("error", end).on("close", end);
        up.on("error", end).on("close", end);
        client.pipe(up).pipe(client);
      });
      s.once("error", fail);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        ok();
      });
    });
  const stop = () =>
    new Promise<void>((ok) => {
      for (const s of open) s.resetAndDestroy();
      open.clear();
      if (!server) return ok();
      server.close(() => ok());
      server = undefined;
    });
  await listen();
  return { port, cut: stop, restore: listen, close: stop };
}

export interface FaultStack {
  stack: DemoStack;
  /** Traefik's API as compose-roll reaches it: through the relay. */
  api: Relay;
  /** The stack's dynamic/ directory: a tmpfs of its own. */
  dynamicDir: string;
  /** The CLI flags that point compose-roll at this stack (API through the relay). */
  args: string[];
  traefikContainer: string;
  down(): Promise<void>;
}

const TMPFS_SIZE = "256k";

/**
 * The demo's healthcheck allows 3 s per probe; on this shared 2-core testbed, under load
 * averages of 30-50, a python3 start alone can take longer, and healthy containers were
 * marked unhealthy mid-case. 6 s keeps the matrix about faults, not the machine's load;
 * compose-roll's clones inherit it (it differs from the image's own).
 */
const OVERRIDE = `services:
  web:
    healthcheck:
      test: ["CMD", "python3", "/app/healthcheck.py"]
      interval: 1s
      timeout: 6s
      retries: 3
      start_period: 60s
`;

/**
 * Starts the demo stack with dynamic/ on a tmpfs mounted before `up` (so Traefik's bind mount
 * is that tmpfs: filling it or remounting it read-only is seen on both sides).
 */
export async function startFaultStack(name: string, env: Record<string, string> = {}): Promise<FaultStack> {
  let dynamicDir = "";
  const stack = await startDemo(
    name,
    { TRAEFIK_THROTTLE: "100ms", ...env },
    {
      files: ["compose.yaml", "compose.override.yaml"],
      prepare: (dir) => {
        writeFileSync(join(dir, "compose.override.yaml"), OVERRIDE);
        dynamicDir = join(dir, "dynamic");
        const files = readdirSync(dynamicDir).map((f) => [f, readFileSync(join(dynamicDir, f))] as const);
        execFileSyncChecked("mount", [
          "-t",
          "tmpfs",
          "-o",
          `size=${TMPFS_SIZE},mode=0755`,
          "tmpfs",
          dynamicDir,
        ]);
        for (const [f, data] of files) writeFileSync(join(dynamicDir, f), data);
      },
    },
  );
  const api = await startRelay({ port: Number(new URL(stack.apiUrl).port) });
  const args = [...stackArgs(stack), "--traefik-api", `http://127.0.0.1:${api.port}`];
  const sync = await runCli(["sync", "web", ...args], { cwd: stack.dir });
  if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
  return {
    stack,
    api,
    dynamicDir,
    args,
    traefikContainer: `${stack.project}-traefik-1`,
    down: async () => {
      await api.close();
      await stack.down();
      await exec("umount", ["-l", dynamicDir]).catch(() => {});
    },
  };
}

/** Synchronous on purpose: prepare() runs before `up` and cannot await. */
function execFileSyncChecked(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
}

/** One compose-roll run (`args` after the subcommand/service) against the stack. */
export function cli(
  fs: FaultStack,
  args: string[],
  opts: {
    env?: Record<string, string>;
    onEvent?: (e: Record<string, unknown>, kill: (s: NodeJS.Signals) => void) => void;
  } = {},
): Promise<CliRun> {
  return runCli([...args, ...fs.args, "--json"], { cwd: fs.stack.dir, ...opts });
}

export function load(fs: FaultStack): LoadProbe {
  return new LoadProbe({ url: fs.stack.httpUrl, maxSeconds: 300, slowMs: 1000, timeoutMs: 15_000 }).start();
}

export { formatReport, type ProbeReport };

export interface FinalState {
  /** "3 x compose-roll-demo/app:v2" when converged, else what was found. */
  replicas: string;
  /** Every container running and healthy, all on one image, REPLICAS of them. */
  converged: boolean;
  image: string | undefined;
  /** The file lists exactly the containers (by short ID), holds no probe, and Traefik's API agrees. */
  traefikMatches: boolean;
  lockFree: boolean;
  /** What differs, for the report. */
  problems: string[];
}

interface Seen {
  name: string;
  id: string;
  image: string;
  running: boolean;
  health: string | undefined;
}

async function webContainers(project: string): Promise<Seen[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${project}`, "com.docker.compose.service=web"] },
  });
  const seen = await Promise.all(
    list.map(async (c) => {
      const i = await docker.getContainer(c.Id).inspect();
      return {
        name: i.Name.slice(1),
        id: i.Id,
        image: i.Config.Image,
        running: i.State.Running,
        health: i.State.Health?.Status,
      };
    }),
  );
  return seen.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The state a case must leave. Background drains may still be stopping old containers for
 * a moment after compose-roll exits; so may Traefik's last reload: polled for up to 20 s.
 */
export async function finalState(fs: FaultStack, deadlineMs = 20_000): Promise<FinalState> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const st = await snapshot(fs);
    if ((st.converged && st.traefikMatches && st.lockFree) || Date.now() > until) return st;
    await sleep(500);
  }
}

async function snapshot(fs: FaultStack): Promise<FinalState> {
  const problems: string[] = [];
  const cs = await webContainers(fs.stack.project);
  const images = [...new Set(cs.map((c) => c.image))];
  const healthy = cs.filter((c) => c.running && c.health === "healthy");
  const converged = cs.length === REPLICAS && healthy.length === REPLICAS && images.length === 1;
  if (!converged)
    problems.push(
      `containers: ${cs.map((c) => `${c.name} ${c.image} ${c.running ? c.health : "exited"}`).join(", ")}`,
    );
  const want = cs
    .filter((c) => c.running)
    .map((c) => `http://${c.id.slice(0, 12)}:8000`)
    .sort();
  const text = await readFile(fs.stack.traefikFile, "utf8").catch(() => "");
  const http = parse(text)?.http ?? {};
  const listed = ((http.services?.web?.loadBalancer?.servers ?? []) as { url: string }[])
    .map((s) => s.url)
    .sort();
  const probeLeft = Object.keys(http.routers ?? {}).some((r) => r.includes("compose-roll-probe"));
  const api = await apiServers(fs);
  const traefikMatches =
    same(listed, want) && api !== undefined && same(api, want) && !probeLeft && want.length > 0;
  if (!same(listed, want)) problems.push(`file lists [${listed}], containers are [${want}]`);
  if (api === undefined) problems.push("Traefik's API did not answer");
  else if (!same(api, want)) problems.push(`Traefik's API lists [${api}]`);
  if (probeLeft) problems.push("a probe router is left in the file");
  const lock = await lockHolder(fs);
  if (lock) problems.push(`lock held: ${lock}`);
  return {
    replicas: converged
      ? `${REPLICAS} x ${images[0]}`
      : `${healthy.length}/${cs.length} healthy on ${images.join(", ")}`,
    converged,
    image: images.length === 1 ? images[0] : undefined,
    traefikMatches,
    lockFree: lock === undefined,
    problems,
  };
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

async function apiServers(fs: FaultStack): Promise<string[] | undefined> {
  try {
    const res = await fetch(`${fs.stack.apiUrl}/api/http/services/web@file`, {
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { loadBalancer?: { servers?: { url: string }[] } };
    return (body.loadBalancer?.servers ?? []).map((s) => s.url).sort();
  } catch {
    return undefined;
  }
}

/** Who holds the service's rollout lock, as `compose-roll status` says; undefined when free. */
async function lockHolder(fs: FaultStack): Promise<string | undefined> {
  const st = await runCli(["status", "web", "-p", fs.stack.project, "--json"], { cwd: fs.stack.dir });
  if (st.code !== 0) return `status exited ${st.code}: ${st.stderr.trim()}`;
  const lock = (JSON.parse(st.stdout) as { lock: unknown }).lock;
  return lock ? JSON.stringify(lock) : undefined;
}

/** The image the service runs now (the case's "before"), and the other of v1/v2 to roll to. */
export async function currentImage(fs: FaultStack): Promise<string> {
  const cs = await webContainers(fs.stack.project);
  return cs.find((c) => c.running)?.image ?? app("v1");
}

export const otherOf = (image: string) => (image === app("v1") ? app("v2") : app("v1"));

/** docker compose for this stack, as a user would type it. */
export async function compose(fs: FaultStack, ...args: string[]): Promise<void> {
  const files = fs.stack.files.flatMap((f) => ["-f", f]);
  await exec("docker", ["compose", "-p", fs.stack.project, ...files, ...args], {
    cwd: fs.stack.dir,
    env: { ...process.env, ...fs.stack.composeEnv, TRAEFIK_THROTTLE: "100ms" },
  });
}

export async function webNames(fs: FaultStack): Promise<string[]> {
  return (await webContainers(fs.stack.project)).map((c) => c.name);
}

export { exec };
