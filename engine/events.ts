// The one reader of Docker's event stream: one JSON object per line, in chunks that may cut
// a line anywhere. Health waits (health.ts) and the crash watch (crashes.ts) both read
// through it.
import type { Readable } from "node:stream";
import type Docker from "dockerode";

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

/** Splits chunks into events; a line that is not JSON is skipped. */
export class EventLines {
  private buf = "";

  constructor(private readonly onEvent: (ev: DockerEvent) => void) {}

  push(chunk: string): void {
    this.buf += chunk;
    for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let ev: DockerEvent;
      try {
        ev = JSON.parse(line) as DockerEvent;
      } catch {
        continue;
      }
      this.onEvent(ev);
    }
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
