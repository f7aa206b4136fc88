// Progress for people (stderr, one line per transition with elapsed time) or for CI
// (`--json`: one JSON object per line on stdout). Logs are pino's business, not this.
import type { Clock, Reporter, RolloutEvent } from "../controller/ports.js";

type Write = (line: string) => void;

export class HumanReporter implements Reporter {
  private readonly t0: number;
  constructor(
    private readonly clock: Clock,
    private readonly write: Write = (l) => process.stderr.write(`${l}\n`),
  ) {
    this.t0 = clock.now();
  }

  event(e: RolloutEvent): void {
    const at = `[${((this.clock.now() - this.t0) / 1000).toFixed(1).padStart(5)}s]`;
    this.write(`${at} ${HumanReporter.text(e)}`);
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
      case "done":
        return e.result === "complete"
          ? `done: ${e.from} → ${e.to}, ${e.replicas} replica(s) in ${e.seconds}s`
          : `rolled back after ${e.seconds}s: still serving ${e.to} on ${e.replicas} replica(s)`;
    }
  }
}

export class JsonReporter implements Reporter {
  constructor(private readonly write: Write = (l) => process.stdout.write(`${l}\n`)) {}
  event(e: RolloutEvent): void {
    this.write(JSON.stringify({ time: new Date().toISOString(), ...e }));
  }
}
