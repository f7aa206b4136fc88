// `npm run bench:cli [-- --runs N] [-- --rollouts N] [-- --bin dist/cli/entry.js]`: issue 12's
// CLI figures. `compose-roll --help` and `compose-roll status web` (on a 6-replica file-mode
// stack) N times each, then compose-roll's RSS during N rollouts of those 6 replicas (v2, then
// back to v1, ...). Wall time as median/p90; memory two ways: the node process's own peak
// (VmHWM in /proc/<pid>/status, sampled every 5 ms) and /usr/bin/time's %M, which is the largest
// of node and the `docker compose` / `docker` processes it waited for. Prints figures (and the
// load average, the testbed is shared); asserts nothing.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../test/support/stack.js";
import { type Stack, up } from "./stacks.js";
import { percentile } from "./stats.js";
import { stackArgs } from "./strategies.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    rollouts: { type: "string", default: "2" },
    replicas: { type: "string", default: "6" },
    /** The file node runs (relative to the repository): the installed bin by default. */
    bin: { type: "string", default: "dist/cli/entry.js" },
    /** Slot for bench/stacks.ts: ports 19600 + 2·slot; 9 keeps clear of `npm run bench`'s 0 and 1. */
    slot: { type: "string", default: "9" },
  },
});
const RUNS = Number(values.runs);
const ROLLOUTS = Number(values.rollouts);
const REPLICAS = Number(values.replicas);
const BIN = join(ROOT, values.bin);
const log = (s: string) => process.stderr.write(`bench:cli: ${s}\n`);
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

interface Figure {
  code: number | null;
  ms: number;
  /** node's own peak RSS (VmHWM), MB. */
  node_mb: number;
  /** /usr/bin/time's %M: the largest of node and the processes it waited for, MB. */
  tree_mb: number;
  stderr: string;
}

const kbOf = (status: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);

/** The pid /usr/bin/time started (node), once it exists. */
function childOf(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
    return kids[0] ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

function cli(args: string[], stack?: Stack): Promise<Figure> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn("/usr/bin/time", ["-f", "RSS_KB=%M", process.execPath, BIN, ...args], {
      cwd: stack?.dir ?? ROOT,
      env: { ...process.env, ...stack?.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    let hwm = 0;
    let node: number | undefined;
    const sample = setInterval(() => {
      node ??= child.pid ? childOf(child.pid) : undefined;
      if (!node) return;
      try {
        hwm = Math.max(hwm, kbOf(readFileSync(`/proc/${node}/status`, "utf8"), "VmHWM"));
      } catch {
        // exited between two samples
      }
    }, 5);
    child.on("close", (code) => {
      clearInterval(sample);
      const ms = Math.round(performance.now() - t0);
      const kb = Number(/RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
      const rest = stderr.replace(/(Command exited with non-zero status \d+\n)?RSS_KB=\d+\n?/, "");
      resolve({ code, ms, node_mb: mb(hwm), tree_mb: mb(kb), stderr: rest });
    });
  });
}

const mb = (kb: number) => Math.round(kb / 102.4) / 10;

function summary(name: string, figs: Figure[]): string {
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const ms = sorted(figs.map((f) => f.ms));
  const node = sorted(figs.map((f) => f.node_mb));
  const tree = sorted(figs.map((f) => f.tree_mb));
  const bad = figs.filter((f) => f.code !== 0).length;
  return (
    `${name.padEnd(22)} n=${figs.length}${bad ? ` (${bad} failed)` : ""}  ` +
    `wall median ${percentile(ms, 50)} ms, p90 ${percentile(ms, 90)} ms (min ${ms[0]}, max ${ms.at(-1)})  ` +
    `node RSS median ${percentile(node, 50)} MB, max ${node.at(-1)} MB  ` +
    `time %M median ${percentile(tree, 50)} MB, max ${tree.at(-1)} MB`
  );
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    log(s);
  };
  say(`node ${process.version}, ${os.cpus().length} cpus, bin ${values.bin}, load average ${load()}`);
  // One warm-up run of each (page cache), not counted.
  await cli(["--help"]);
  const help: Figure[] = [];
  for (let i = 0; i < RUNS; i++) help.push(await cli(["--help"]));
  say(summary("--help", help));

  log(`bringing up a ${REPLICAS}-replica stack (file routing)`);
  const stack = await up({ routing: "file", slot: Number(values.slot), replicas: REPLICAS });
  const flags = stackArgs(stack);
  try {
    const sync = await cli(["sync", "web", ...flags], stack);
    if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
    await cli(["status", "web", ...flags], stack);
    const status: Figure[] = [];
    for (let i = 0; i < RUNS; i++) status.push(await cli(["status", "web", ...flags], stack));
    if (status.some((f) => f.code !== 0)) log(`status failed: ${status.find((f) => f.code)?.stderr}`);
    say(summary("status web", status));
    // What compose itself costs status: the same `docker compose config` it runs.
    const compose: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 7); i++) {
      const t0 = performance.now();
      await stack.compose(["config", "--format", "yaml"]);
      compose.push(Math.round(performance.now() - t0));
    }
    compose.sort((a, b) => a - b);
    say(
      `docker compose config   n=${compose.length}  wall median ${percentile(compose, 50)} ms, p90 ${percentile(compose, 90)} ms`,
    );
    const rolls: Figure[] = [];
    for (let i = 0; i < ROLLOUTS; i++) {
      const image = i % 2 === 0 ? "compose-roll-demo/app:v2" : "compose-roll-demo/app:v1";
      const r = await cli(["web", "--image", image, "--no-write", "--json", ...flags], stack);
      if (r.code !== 0) log(`rollout to ${image} failed (exit ${r.code}): ${r.stderr.trim()}`);
      say(
        `rollout ${REPLICAS} replicas → ${image.split(":")[1]}: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s, node RSS peak ${r.node_mb} MB, time %M ${r.tree_mb} MB`,
      );
      rolls.push(r);
    }
    if (rolls.length > 1) say(summary(`rollout x${REPLICAS}`, rolls));
  } finally {
    await stack.down();
  }
  say(`load average at the end ${load()}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
