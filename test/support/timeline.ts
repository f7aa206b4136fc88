// What a project's containers and compose-roll did while a load probe ran, in the probe's own
// seconds: when requests fail, the assertion says when, with what status, and what happened
// around that moment (a health check turning, a container stopping, a step of the rollout), so a
// failure seen once on a loaded CI machine can be explained from its log alone.
import Docker from "dockerode";
import { expect } from "vitest";
import { isFailure, type ProbeReport, type Sample } from "../load/probe.js";

const docker = new Docker();
/** Lifecycle and health events worth a line; exec_* and attach events are noise. */
const KEPT = /^(create|start|kill|die|stop|destroy|health_status)/;

export class Timeline {
  /** Wall clock at the probe's start: Docker stamps its events in Unix time. */
  private readonly epochMs = Date.now();
  private readonly t0 = performance.now();
  private readonly lines: { at: number; what: string }[] = [];
  private stream?: NodeJS.ReadableStream & { destroy?: () => void };

  /** Start it right before the probe, so both count seconds from the same moment. */
  static async watch(project: string): Promise<Timeline> {
    const t = new Timeline();
    t.stream = (await docker.getEvents({
      filters: { type: ["container"], label: [`com.docker.compose.project=${project}`] },
    })) as NodeJS.ReadableStream & { destroy?: () => void };
    let buf = "";
    t.stream.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        t.event(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    t.stream.on("error", () => {});
    return t;
  }

  /** A compose-roll --json event (runCli's onEvent), stamped as it arrives. */
  note(e: Record<string, unknown>): void {
    const { type, time: _time, ...rest } = e;
    this.lines.push({
      at: (performance.now() - this.t0) / 1000,
      what: `compose-roll ${type} ${JSON.stringify(rest)}`,
    });
  }

  stop(): void {
    this.stream?.destroy?.();
  }

  /** The lines from `from` to `to` seconds, one per line. */
  between(from: number, to: number): string {
    return this.lines
      .filter((l) => l.at >= from && l.at <= to)
      .sort((a, b) => a.at - b.at)
      .map((l) => `  ${l.at.toFixed(1)} s ${l.what}`)
      .join("\n");
  }

  private event(line: string): void {
    try {
      const e = JSON.parse(line) as {
        status?: string;
        timeNano?: number;
        Actor?: { Attributes?: Record<string, string> };
      };
      if (!e.status || !KEPT.test(e.status) || e.timeNano === undefined) return;
      const a = e.Actor?.Attributes ?? {};
      const at = (e.timeNano / 1e6 - this.epochMs) / 1000;
      this.lines.push({ at, what: `${a.name} (${a.image}) ${e.status}` });
    } catch {
      // A partial or foreign line: the timeline is a diagnosis, not a result.
    }
  }
}

/**
 * No request failed. Otherwise the message gives the count by status, the seconds they span,
 * and, when watched, the timeline from 20 s before the first to 3 s after the last.
 */
export function expectNoneFailed(load: ProbeReport, timeline?: Timeline): void {
  const failed = load.samples.filter(isFailure);
  expect(load.failed, failed.length ? story(failed, load.sent, timeline) : undefined).toBe(0);
}

function story(failed: Sample[], sent: number, timeline?: Timeline): string {
  const by = new Map<string, number>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const s of failed) {
    const kind = `${s.status}${s.error ? ` ${s.error.trim()}` : ""}`;
    by.set(kind, (by.get(kind) ?? 0) + 1);
    first = Math.min(first, s.at);
    last = Math.max(last, s.at);
  }
  return [
    `${failed.length} of ${sent} requests failed from ${first.toFixed(1)} s to ${last.toFixed(1)} s: ${[...by].map(([k, n]) => `${n} x ${k}`).join(", ")}`,
    ...(timeline ? ["what happened meanwhile:", timeline.between(first - 20, last + 3)] : []),
  ].join("\n");
}
