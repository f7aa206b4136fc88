// The ways to roll v1 → v2 that the benchmark compares, each on the stack it needs.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../test/support/stack.js";
import { docker, ids, type Routing, type Stack, type StackOptions } from "./stacks.js";
import type { RollEvent } from "./stats.js";

export interface Outcome {
  ok: boolean;
  detail?: string;
  /** compose-roll's --json events. */
  events?: RollEvent[];
  /** Peak RSS of the compose-roll process, in MB. */
  rss_mb?: number;
}

export interface Strategy {
  name: string;
  routing: Routing;
  /**
   * What its stack needs beyond the routing (bench/stacks.ts; Swarm's: bench/swarm.ts); `app`:
   * the whole demo app with its busy Celery worker (bench/app.ts), whose tasks the run counts.
   */
  stack?: Pick<StackOptions, "swarmRefreshS"> & { app?: boolean };
  roll(stack: Stack, to: string): Promise<Outcome>;
}

/** The drain period compose-roll runs with in the bench (its default). */
export const DRAIN_MS = 3000;

/** `docker compose up -d` with the new tag: compose recreates each container stop-first. */
const naive: Strategy = {
  name: "naive",
  routing: "labels",
  async roll(stack, to) {
    await stack.compose(["up", "-d", "web"], { WEB_IMAGE: to });
    return { ok: true };
  },
};

/**
 * docker-rollout's algorithm (v0.13, MIT; shared/field-notes.md), re-written for the bench:
 * scale to 2N without recreating, wait ~1/s until the new ones are healthy, run the drain
 * hook its docs recommend on every old one at once (`touch /tmp/drain && sleep 10`: the
 * healthcheck fails, Traefik's Docker provider drops them), then stop and remove them.
 */
const scaleRemove: Strategy = {
  name: "scale-remove",
  routing: "labels",
  async roll(stack, to) {
    const old = await ids(stack);
    await stack.compose(
      ["up", "-d", "--no-deps", "--no-recreate", "--scale", `web=${2 * old.length}`, "web"],
      {
        WEB_IMAGE: to,
      },
    );
    const fresh = (await ids(stack)).filter((id) => !old.includes(id));
    for (let i = 0; ; i++) {
      const health = (await docker(["inspect", "-f", "{{.State.Health.Status}}", ...fresh])).split("\n");
      if (health.filter(Boolean).every((h) => h === "healthy")) break;
      if (i >= 60) {
        await docker(["rm", "-f", ...fresh]);
        return { ok: false, detail: "new containers not healthy within 60 s" };
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    await Promise.all(old.map((id) => docker(["exec", id, "sh", "-c", "touch /tmp/drain && sleep 10"])));
    await docker(["stop", ...old]);
    await docker(["rm", ...old]);
    return { ok: true };
  },
};

/**
 * compose-roll on one service; `surge`: that many new containers side by side (--max-surge), so
 * at surge = N it boots all N at once as scale-remove does, and the two compare at equal surge.
 */
function composeRoll(routing: Routing, surge?: number): Strategy {
  return {
    name: `compose-roll ${routing}${surge ? ` --max-surge ${surge}` : ""}`,
    routing,
    async roll(stack, to) {
      const res = await cli(stack, [
        "web",
        "--image",
        to,
        "--json",
        "--no-write",
        "--drain",
        `${DRAIN_MS}ms`,
        ...(surge ? ["--max-surge", String(surge)] : []),
      ]);
      const events = res.stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as RollEvent);
      return {
        ok: res.code === 0,
        events,
        ...(res.rss_mb ? { rss_mb: res.rss_mb } : {}),
        ...(res.code === 0 ? {} : { detail: res.stderr.trim().split("\n").slice(-3).join(" | ") }),
      };
    },
  };
}

/** Replicas of web in the bench's stacks. */
export const REPLICAS = 3;

export const STRATEGIES: Strategy[] = [
  naive,
  scaleRemove,
  composeRoll("file"),
  composeRoll("labels"),
  composeRoll("labels", REPLICAS),
];

/** The flags that point compose-roll at `stack`. */
export function stackArgs(stack: Stack): string[] {
  const args = ["-p", stack.project, "--traefik-api", stack.apiUrl, "--traefik-url", stack.httpUrl];
  if (stack.traefikFile) args.push("--traefik-file", stack.traefikFile);
  return args;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  rss_mb?: number;
}

/** Runs the built compose-roll (the installed bin's entry) under GNU time for its peak RSS. */
export function cli(stack: Stack | undefined, args: string[]): Promise<CliResult> {
  const argv = [...args, ...(stack ? stackArgs(stack) : [])];
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      "/usr/bin/time",
      ["-f", "RSS_KB=%M", process.execPath, join(ROOT, "dist/cli/entry.js"), ...argv],
      { cwd: stack?.dir ?? ROOT, env: { ...process.env, ...stack?.env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const ms = Math.round(performance.now() - t0);
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        const kb = Number(/RSS_KB=(\d+)/.exec(stderr)?.[1]);
        const rest = stderr.replace(/(Command exited with non-zero status \d+\n)?RSS_KB=\d+\n?/, "");
        resolve({ code, stdout, stderr: rest, ms, ...(kb ? { rss_mb: Math.round(kb / 102.4) / 10 } : {}) });
      },
    );
  });
}
