// Progress for people (stderr, one line per transition with elapsed time) or for CI
// (`--json`: one JSON object per line on stdout). Logs are pino's business, not this.
import type { Clock, Reporter, RolloutEvent } from "../controller/ports.js";

type Write = (line: string) => void;

/**
 * `text` with every control character shown escaped (\x1b, \r, \x9b, \u202e): a hook's
 * output, a label or an image name comes from elsewhere, and must not move the cursor,
 * clear the screen, retitle the window or reorder what the line says.
 */
export function visible(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: those are what is escaped
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    if (c === "\r") return "\\r";
    if (c === "\n") return "\\n";
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16)}`;
  });
}
type PullEvent = Extract<RolloutEvent, { type: "pull" }>;

export class HumanReporter implements Reporter {
  private readonly t0: number;
  /** A progress line is on screen without its newline (only on a terminal). */
  private liveOpen = false;
  constructor(
    private readonly clock: Clock,
    private readonly write: Write = (l) => process.stderr.write(`${l}\n`),
    /**
     * On a terminal, raw output to redraw one line in place: pull progress then updates a
     * single line instead of printing one per layer. Elsewhere (CI logs) only the start
     * and end of a pull are printed.
     */
    private readonly live: Write | undefined = process.stderr.isTTY
      ? (s) => process.stderr.write(s)
      : undefined,
  ) {
    this.t0 = clock.now();
  }

  event(e: RolloutEvent): void {
    const at = `[${((this.clock.now() - this.t0) / 1000).toFixed(1).padStart(5)}s]`;
    const progress = e.type === "pull" && e.status === "pulling" && e.layers !== undefined;
    if (progress) {
      if (!this.live) return;
      this.live(`\r\x1b[2K${at} ${visible(HumanReporter.text(e))}`);
      this.liveOpen = true;
      return;
    }
    if (this.liveOpen && this.live) this.live("\r\x1b[2K");
    this.liveOpen = false;
    this.write(`${at} ${visible(HumanReporter.text(e))}`);
  }

  static text(e: RolloutEvent): string {
    switch (e.type) {
      case "start":
        return `rolling ${e.service}: ${e.from} → ${e.to}, ${e.replicas} replica(s)`;
      case "replica":
        return `${e.name.padEnd(16)} ${e.image.padEnd(24)} ${e.state}${e.detail ? ` (${e.detail})` : ""}`;
      case "restore":
        return `FAILED: ${e.reason}; restoring ${e.to}`;
      case "compose":
        return `compose: ${e.detail}`;
      case "synced":
        return `synced ${e.service}: Traefik serves ${e.servers.length} server(s): ${e.servers.join(", ")}`;
      case "pull":
        return pullText(e);
      case "hook":
        return hookText(e);
      case "output":
        return `${e.hook} | ${e.line}`;
      case "gate":
        return gateText(e);
      case "check":
        return e.detail;
      case "bake":
        return e.state === "baking" ? `baking ${e.detail}` : `bake ${e.state}: ${e.detail}`;
      case "done":
        return e.result === "complete"
          ? `done: ${e.from} → ${e.to}, ${e.replicas} replica(s) in ${e.seconds}s`
          : `rolled back after ${e.seconds}s: still serving ${e.to} on ${e.replicas} replica(s)`;
    }
  }
}

function hookText(e: Extract<RolloutEvent, { type: "hook" }>): string {
  const cmd = e.argv.join(" ");
  if (e.state === "running") return `${e.hook}: running \`${cmd}\` in a one-off container of the new image`;
  const took = e.seconds !== undefined ? ` in ${e.seconds.toFixed(1)}s` : "";
  return e.state === "succeeded"
    ? `${e.hook}: \`${cmd}\` succeeded${took}`
    : `${e.hook}: \`${cmd}\` failed${e.exitCode !== undefined ? ` with exit code ${e.exitCode}` : ""}${took}`;
}

function gateText(e: Extract<RolloutEvent, { type: "gate" }>): string {
  const pending = e.migrations.length
    ? `${e.migrations.length} pending: ${e.migrations.join(", ")}`
    : "nothing pending";
  const found = e.findings.map((f) => `${f.migration}: ${f.operation} (${f.verdict}: ${f.why})`).join("; ");
  switch (e.result) {
    case "skipped":
      return `migration gate: skipped (${e.detail ?? "off"})`;
    case "safe":
      return `migration gate: ${pending}; all compatible with the replicas still running`;
    case "warned":
      return `migration gate: WARNING, let through (${e.detail ?? "--allow-breaking"}): ${found}`;
    case "refused":
      return `migration gate: refused: ${found}`;
  }
}

function mb(n: number): string {
  return `${(n / 1_000_000).toFixed(1)} MB`;
}

function pullText(e: PullEvent): string {
  const layers = e.layers ? `${e.layers.done}/${e.layers.total} layers` : "";
  const bytes = e.bytes ? `${mb(e.bytes.current)} of ${mb(e.bytes.total)}` : "";
  const counts = [layers, bytes].filter(Boolean).join(", ");
  switch (e.status) {
    case "present":
      return `image ${e.ref}: ${e.detail ?? "on the Docker host"}`;
    case "pulling":
      return `pulling ${e.ref}${counts ? `: ${counts}` : e.detail ? ` ${e.detail}` : ""}`;
    case "pulled":
      return `pulled ${e.ref}${e.seconds !== undefined ? ` in ${e.seconds.toFixed(1)}s` : ""}${e.detail ? ` (${e.detail}${layers ? `, ${layers}` : ""})` : ""}`;
  }
}

export class JsonReporter implements Reporter {
  constructor(private readonly write: Write = (l) => process.stdout.write(`${l}\n`)) {}
  event(e: RolloutEvent): void {
    this.write(
      JSON.stringify({ time: new Date().toISOString(), ...e }).replace(
        // JSON.stringify escapes C0 only; DEL and C1 (\x9b is a CSI) would still reach a terminal.
        // biome-ignore lint/suspicious/noControlCharactersInRegex: those are what is escaped
        /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
      ),
    );
  }
}
