// Runs one case and judges it: the exit code it expects, the recovery (if any) exiting 0, no
// failed request unless the case says why some may fail, and the final state (REPLICAS
// healthy on the expected image, Traefik's file and API matching them, the lock free). A
// case that leaves the stack broken is healed (repair, then compose) so the next starts clean.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isFailure } from "../load/probe.js";
import { ROOT } from "../support/stack.js";
import {
  cli,
  compose,
  type FaultStack,
  type FinalState,
  finalState,
  formatReport,
  type ProbeReport,
} from "./harness.js";
import type { Case } from "./run.js";

export interface Row {
  id: string;
  title: string;
  when: string;
  expectExit: (number | null)[];
  exit: number | null;
  recovery?: { command: string; exit: number | null };
  sent: number;
  failed: number;
  /** Latency of the probe's fast requests, 99th percentile, ms. */
  p99?: number;
  failuresAllowed?: string;
  failuresAtMost?: number;
  /** When the failed requests were sent, in seconds after compose-roll started. */
  failedWindow?: string;
  final: FinalState;
  expectImage: string;
  seconds: number;
  said: string;
  pass: boolean;
  why: string[];
  /** ISO date of the run that produced this row, and the commit it ran on. */
  at: string;
  commit?: string;
  /** When the case did not run (gated), why. */
  skipped?: string;
}

export async function runCase(fs: FaultStack, c: Case): Promise<Row> {
  const out = await c.run(fs);
  const final = await finalState(fs);
  const why: string[] = [];
  if (!c.expectExit.includes(out.exit)) why.push(`exit ${out.exit}, expected ${c.expectExit.join(" or ")}`);
  if (out.recovery && out.recovery.exit !== 0)
    why.push(`${out.recovery.command} exited ${out.recovery.exit}`);
  const atMost = c.failuresAllowed?.atMost ?? 0;
  if (out.load.failed > atMost)
    why.push(
      `${out.load.failed} failed requests (at most ${atMost}): ${JSON.stringify(out.load.failures.slice(0, 3))}`,
    );
  if (out.load.sent < 20) why.push(`only ${out.load.sent} requests sent: the load did not run`);
  if (!final.converged || final.image !== out.expectImage)
    why.push(`final ${final.replicas}, expected ${out.expectImage}`);
  why.push(...final.problems);
  console.log(
    `[${c.id}] exit ${out.exit}${out.recovery ? `, ${out.recovery.command} exit ${out.recovery.exit}` : ""}; ` +
      `${formatReport(out.load)}; final ${final.replicas}; ${why.length ? `FAIL: ${why.join("; ")}` : "ok"}\n  ${out.said}`,
  );
  const row: Row = {
    id: c.id,
    title: c.title,
    when: c.when,
    expectExit: c.expectExit,
    exit: out.exit,
    ...(out.recovery ? { recovery: out.recovery } : {}),
    sent: out.load.sent,
    failed: out.load.failed,
    p99: out.load.p99,
    ...(c.failuresAllowed
      ? { failuresAllowed: c.failuresAllowed.why, failuresAtMost: c.failuresAllowed.atMost }
      : {}),
    ...(out.load.failed > 0 ? { failedWindow: window(out.load) } : {}),
    final,
    expectImage: out.expectImage,
    seconds: out.seconds,
    said: out.said,
    pass: why.length === 0,
    why,
    at: new Date().toISOString(),
    commit: COMMIT,
  };
  if (!(final.converged && final.traefikMatches && final.lockFree)) await heal(fs);
  return row;
}

/** From the first to the last failed request, relative to compose-roll's start (1 s into the load). */
function window(load: ProbeReport): string {
  const at = load.samples.filter(isFailure).map((s) => s.at - 1);
  const f = (n: number) => n.toFixed(1);
  return `${f(Math.min(...at))}–${f(Math.max(...at))} s`;
}

/** Puts a broken stack back for the next case: repair, else compose's own recreate and sync. */
async function heal(fs: FaultStack): Promise<void> {
  const r = await cli(fs, ["repair", "web"]);
  const st = await finalState(fs, 5000);
  if (st.converged && st.traefikMatches && st.lockFree) return;
  console.log(
    `  heal: repair exited ${r.code} (${r.stderr.trim().split("\n").at(-1)}); recreating with compose`,
  );
  await cli(fs, ["lock", "release", "web"]);
  await compose(fs, "up", "-d", "--wait", "--force-recreate", "--remove-orphans", "web");
  await cli(fs, ["sync", "web"]);
}

export const RESULTS = join(ROOT, "docs/faults.json");

/** The commit under test (with "+" when the work tree differs from it). */
const COMMIT = (() => {
  const git = (...a: string[]) => spawnSync("git", ["-C", ROOT, ...a], { encoding: "utf8" }).stdout.trim();
  const head = git("rev-parse", "--short=12", "HEAD") || "unknown";
  return git("status", "--porcelain", "--untracked-files=no") ? `${head}+` : head;
})();

/** Merges `rows` into the committed results (a partial run replaces only its own rows). */
export function saveRows(rows: Row[], all: Case[]): Row[] {
  const old: Row[] = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, "utf8")).rows : [];
  const byId = new Map(old.map((r) => [r.id, r]));
  for (const r of rows) byId.set(r.id, r);
  const merged = all.flatMap((c) => {
    const r = byId.get(c.id);
    return r ? [r] : [];
  });
  writeFileSync(RESULTS, `${JSON.stringify({ rows: merged }, null, 2)}\n`);
  // In the repository's own format, so `biome check` passes on the committed file.
  spawnSync(join(ROOT, "node_modules/.bin/biome"), ["format", "--write", RESULTS], { stdio: "ignore" });
  return merged;
}
