// The benchmark's stacks: a private copy of examples/minimal (Traefik's file provider) or
// examples/demo-labels (its Docker provider, drain-file healthcheck), brought up with plain
// `docker compose` on fixed ports (19600-19699 belong to the bench on the shared testbed).
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../test/support/stack.js";

const run = promisify(execFile);

export type Routing = "file" | "labels" | "swarm";

export interface StackOptions {
  routing: Routing;
  /** Distinguishes concurrent stacks: ports 19600 + 2·slot and + 1, project cr-bench-<slot>. */
  slot: number;
  replicas: number;
  /** issue 12's second stack: a 3 s boot and a 2 s health interval instead of 2 s / 1 s. */
  slowBoot?: boolean;
  image?: string;
  /** Swarm stacks: how often Traefik's Swarm provider polls the Swarm API, s (its default: 15). */
  swarmRefreshS?: number;
}

export interface Stack {
  dir: string;
  project: string;
  routing: Routing;
  replicas: number;
  env: Record<string, string>;
  httpUrl: string;
  apiUrl: string;
  traefikFile?: string;
  /** `docker compose` in the stack's directory, with its project and environment. */
  compose(args: string[], extraEnv?: Record<string, string>): Promise<string>;
  /** Swarm stacks: tasks running now, the service's and its stand-ins' (the bench keeps the peak). */
  tasks?(): Promise<number>;
  down(): Promise<void>;
}

export async function up(opts: StackOptions): Promise<Stack> {
  const example = opts.routing === "file" ? "minimal" : "demo-labels";
  const http = 19600 + 2 * opts.slot;
  const project = `cr-bench-${opts.slot}`;
  await cleanup(project); // a killed earlier bench may have left the project behind
  const root = mkdtempSync(join(tmpdir(), "compose-roll-bench-"));
  const dir = join(root, example);
  cpSync(join(ROOT, "examples", example), dir, { recursive: true });
  // Docker keeps the healthcheck's test when only its timing is overridden. A 10 s timeout
  // (the demo's: 3 s): on a loaded testbed a python probe can take longer than 3 s to start,
  // and three of those would fail the stack itself, whatever the strategy.
  const health = opts.slowBoot ? "interval: 2s\n      timeout: 10s" : "timeout: 10s";
  const env0 = opts.slowBoot ? "    environment:\n      BOOT_DELAY: '3'\n" : "";
  writeFileSync(
    join(dir, "bench.override.yaml"),
    `services:\n  web:\n${env0}    healthcheck:\n      ${health}\n`,
  );
  const files = ["-f", "compose.yaml", "-f", "bench.override.yaml"];
  const env = {
    DEMO_HTTP_PORT: String(http),
    DEMO_API_PORT: String(http + 1),
    WEB_IMAGE: opts.image ?? "compose-roll-demo/app:v1",
  };
  const compose = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const res = await run("docker", ["compose", "-p", project, ...files, ...args], {
      cwd: dir,
      env: { ...process.env, ...env, ...extraEnv },
      maxBuffer: 16 << 20,
    });
    return res.stdout;
  };
  const stack: Stack = {
    dir,
    project,
    routing: opts.routing,
    replicas: opts.replicas,
    env,
    httpUrl: `http://127.0.0.1:${http}`,
    apiUrl: `http://127.0.0.1:${http + 1}`,
    compose,
    down: async () => {
      await cleanup(project);
      rmSync(root, { recursive: true, force: true });
    },
  };
  if (opts.routing === "file") stack.traefikFile = join(dir, "dynamic/web.yml");
  try {
    const args = ["up", "-d", "--wait", "--scale", `web=${opts.replicas}`];
    // Once more on a failure: on a loaded host a container may miss its first health window.
    await compose(args).catch(() => compose(args));
    if (opts.routing === "labels") await waitForServers(stack, opts.replicas);
  } catch (err) {
    await stack.down();
    throw err;
  }
  return stack;
}

/** Removes the project's containers, networks and volumes, and compose-roll's state for it. */
async function cleanup(project: string): Promise<void> {
  await run("docker", ["compose", "-p", project, "down", "-v", "-t", "5", "--remove-orphans"]).catch(
    () => "",
  );
  // compose-roll's state containers (lock, revisions) carry its own label.
  const found = await run("docker", ["ps", "-aq", "--filter", `label=com.compose-roll.project=${project}`]);
  const list = found.stdout.split("\n").filter(Boolean);
  if (list.length > 0) await run("docker", ["rm", "-f", ...list]).catch(() => undefined);
}

/** Label mode: Traefik adds healthy containers within its throttle; wait until it lists `n`. */
async function waitForServers(stack: Stack, n: number): Promise<void> {
  const svc = `web-${stack.project}@docker`;
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${stack.apiUrl}/api/http/services/${svc}`).catch(() => undefined);
    if (res?.ok) {
      const body = (await res.json()) as { loadBalancer?: { servers?: unknown[] } };
      if ((body.loadBalancer?.servers ?? []).length === n) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Traefik does not list ${n} servers for ${svc}`);
}

/** Container IDs of the service, as compose lists them. */
export async function ids(stack: Stack): Promise<string[]> {
  return (await stack.compose(["ps", "-q", "web"])).split("\n").filter(Boolean);
}

export async function docker(args: string[]): Promise<string> {
  return (await run("docker", args, { maxBuffer: 16 << 20 })).stdout;
}
