// Runs the built compose-roll binary as a user would, collecting its JSON events.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import type { DemoStack } from "./stack.js";
import { ROOT } from "./stack.js";

/**
 * The command the package ships: package.json's `bin` (dist/cli/entry.js, which sets its V8
 * flags and loads the bundle), so e2e tests run what `npm i -g` installs, not a module behind it.
 */
export const BIN = join(
  ROOT,
  (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> }).bin[
    "compose-roll"
  ] as string,
);

/** Longest a run may take before runCli kills it: below vitest's 300 s test timeout, so the
 * test fails with the child's output rather than a bare timeout. */
const HUNG_MS = 240_000;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
}

export function runCli(
  args: string[],
  opts: {
    cwd: string;
    env?: Record<string, string>;
    /** Runs compose-roll under this command (e.g. a mount namespace): argv before node's. */
    prefix?: string[];
    /** Told the child's pid once it is spawned (the soak samples its /proc). */
    onSpawn?: (pid: number) => void;
    onEvent?: (e: Record<string, unknown>, kill: (s: NodeJS.Signals) => void) => void;
    /** Told the whole stderr so far on each write (the Swarm commands report progress only there). */
    onStderr?: (stderr: string, kill: (s: NodeJS.Signals) => void) => void;
    /** Kills the child (SIGKILL) after this long; its output so far is in the result. */
    timeoutMs?: number;
  },
): Promise<CliRun> {
  return new Promise((resolve) => {
    const [cmd = process.execPath, ...argv] = [...(opts.prefix ?? []), process.execPath, BIN, ...args];
    const child = spawn(cmd, argv, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid) opts.onSpawn?.(child.pid);
    let stdout = "";
    let stderr = "";
    const events: Record<string, unknown>[] = [];
    let partial = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
      partial += d;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        // Only --json output is events; a plain report (say --dry-run's) is just stdout.
        if (!line.startsWith("{")) continue;
        const e = JSON.parse(line) as Record<string, unknown>;
        events.push(e);
        opts.onEvent?.(e, (s) => child.kill(s));
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
      opts.onStderr?.(stderr, (s) => child.kill(s));
    });
    const limit = opts.timeoutMs ?? HUNG_MS;
    const timer = setTimeout(() => {
      stderr += `\nrunCli: no exit after ${limit / 1000} s, killed it (SIGKILL)\n`;
      child.kill("SIGKILL");
    }, limit);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, events });
    });
  });
}

/** The flags that point compose-roll at a demo stack. */
export function stackArgs(stack: DemoStack): string[] {
  return [
    "-p",
    stack.project,
    "--traefik-file",
    stack.traefikFile,
    "--traefik-api",
    stack.apiUrl,
    "--traefik-url",
    stack.httpUrl,
  ];
}

export interface ContainerView {
  name: string;
  image: string;
  state: string;
  health: string | undefined;
}

/** The service's containers as Docker sees them. */
export async function containers(project: string, service = "web"): Promise<ContainerView[]> {
  const docker = new Docker();
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`] },
  });
  const views = await Promise.all(
    list.map(async (c) => {
      const i = await docker.getContainer(c.Id).inspect();
      return {
        name: i.Name.slice(1),
        image: i.Config.Image,
        state: i.State.Status,
        health: i.State.Health?.Status,
      };
    }),
  );
  return views.sort((a, b) => a.name.localeCompare(b.name));
}
