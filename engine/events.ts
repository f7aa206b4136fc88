// The one reader of Docker's event stream: one JSON object per line, in chunks that may cut
// a line anywhere. Health waits (health.ts) and the crash watch (crashes.ts) both read
// through it.
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { EVENT_LINE_CAP, LineBuffer } from "./lines.js";

export interface DockerEvent {
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** API ≥ 1.46 drops the legacy `status`; Action carries the action ("health_status: healthy") on all. */
export function actionOf(ev: DockerEvent): string {
  return ev.Action ?? ev.status ?? "";
}

/**
 * Splits chunks into events; a line that is not JSON is skipped, and one longer than
 * EVENT_LINE_CAP is dropped whole (a piece of it could parse as another event).
 */
export class EventLines {
  private readonly lines: LineBuffer;

  constructor(onEvent: (ev: DockerEvent) => void) {
    this.lines = new LineBuffer(EVENT_LINE_CAP, "drop", (raw) => {
      const line = raw.trim();
      if (!line) return;
      let ev: DockerEvent;
      try {
        ev = JSON.parse(line) as DockerEvent;
      } catch {
        return;
      }
      onEvent(ev);
    });
  }

  push(chunk: string): void {
    this.lines.push(chunk);
  }
}

export type EventFilters = NonNullable<Docker.GetEventsOptions["filters"]>;

/**
 * An open event stream. Nothing is read until onEvent() attaches a reader: what arrives
 * before waits in the stream, so a caller may subscribe first and set up its handler after.
 */
export interface EventFeed {
  readonly stream: Readable;
  onEvent(fn: (ev: DockerEvent) => void): void;
}

export async function openEvents(docker: Docker, filters: EventFilters): Promise<EventFeed> {
  const stream = (await docker.getEvents({ filters })) as unknown as Readable;
  return {
    stream,
    onEvent: (fn) => {
      const lines = new EventLines(fn);
      stream.on("data", (chunk: Buffer) => lines.push(chunk.toString("utf8")));
    },
  };
}
