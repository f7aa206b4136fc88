// How a fault case runs: load on, the fault injected at a chosen moment (an event of
// compose-roll's --json stream, or before it starts), compose-roll's run, the recovery
// where one is needed, load off. matrix.ts checks the state each case leaves.
import type { CliRun } from "../support/cli.js";
import { cli, currentImage, type FaultStack, load, type ProbeReport, sleep } from "./harness.js";

export interface Outcome {
  /** Exit code of the faulted run (null: killed by a signal). */
  exit: number | null;
  /** The command that brought the service back, when the faulted run could not. */
  recovery?: { command: string; exit: number | null };
  load: ProbeReport;
  seconds: number;
  /** The image the service must end on. */
  expectImage: string;
  /** compose-roll's last line on stderr, or its recovery's. */
  said: string;
}

export interface Case {
  id: string;
  title: string;
  /** When the fault hits. */
  when: string;
  /** Exit codes this case accepts for the faulted run (null: killed). */
  expectExit: (number | null)[];
  /**
   * Why some requests may fail (the app, or what serves it, itself died) and at most how many;
   * absent: 0 failures required.
   */
  failuresAllowed?: { why: string; atMost: number };
  /** Only run when this environment variable is 1 (cases that disturb the whole machine). */
  gate?: string;
  run(fs: FaultStack): Promise<Outcome>;
}

type OnEvent = (e: Record<string, unknown>, kill: (s: NodeJS.Signals) => void) => void;

/** Calls `fn` once, on the first event of replica `state` (default: the first new replica routed). */
export function onFirst(fn: (kill: (s: NodeJS.Signals) => void) => void, state = "routed"): OnEvent {
  let fired = false;
  return (e, kill) => {
    if (fired || e.type !== "replica" || e.state !== state) return;
    fired = true;
    fn(kill);
  };
}

const lastLine = (run: CliRun) =>
  run.stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("compose-roll:"))
    .at(-1) ?? "";

/**
 * The common shape: load on, inject `before`, roll to `target` (the faulted run), then the
 * recovery if any, load off.
 */
export async function roll(
  fs: FaultStack,
  opts: {
    target: (before: string) => string;
    expectImage: (before: string, target: string) => string;
    extra?: string[];
    env?: Record<string, string>;
    before?: () => Promise<void>;
    onEvent?: OnEvent;
    after?: () => Promise<void>;
    recover?: (target: string) => { command: string; args: string[]; env?: Record<string, string> };
  },
): Promise<Outcome> {
  const before = await currentImage(fs);
  const target = opts.target(before);
  await opts.before?.();
  const probe = load(fs);
  await sleep(1000);
  const t0 = Date.now();
  const run = await cli(fs, ["web", "--image", target, ...(opts.extra ?? [])], {
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
  await opts.after?.();
  let recovery: Outcome["recovery"];
  let said = lastLine(run);
  if (opts.recover) {
    const r = opts.recover(target);
    const again = await cli(fs, r.args, r.env ? { env: r.env } : {});
    recovery = { command: r.command, exit: again.code };
    said = `${said} | ${r.command}: ${lastLine(again) || "ok"}`;
  }
  const seconds = (Date.now() - t0) / 1000;
  await sleep(1000);
  const report = await probe.stop();
  return {
    exit: run.code,
    ...(recovery ? { recovery } : {}),
    load: report,
    seconds: Math.round(seconds * 10) / 10,
    expectImage: opts.expectImage(before, target),
    said,
  };
}

export const back = (before: string) => before;
export const forward = (_: string, target: string) => target;
export const repair = () => ({ command: "compose-roll repair", args: ["repair", "web"] });
