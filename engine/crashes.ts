// Notices, the moment it happens, that a container of the new image died on its own while a
// rollout goes forward. Without it the controller saw the death only at its next observation,
// after the step in hand: a routed container that crashed kept its server in Traefik while
// the next replica booted (502s and hung keep-alive requests for as long as that took),
// and one that crashed while being probed was probed for the
// whole --route-timeout. A container compose-roll (or anyone) stops gets a `kill` event
// before its `die`; a crash, an OOM kill or `exit` in the app does not.
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import type { ServiceRef } from "../controller/ports.js";
import { EVENT_LINE_CAP, LineBuffer } from "./lines.js";
import { serviceFilters } from "./replicas.js";

interface DockerEvent {
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Feeds event lines to `onCrash` for containers of `imageId` that died without being stopped. */
export class CrashFilter {
  private readonly stopped = new Set<string>();
  private readonly lines = new LineBuffer(EVENT_LINE_CAP, "drop", (line) => {
    if (line.trim()) this.event(line.trim());
  });

  constructor(
    private readonly isTarget: (id: string) => Promise<boolean>,
    private readonly onCrash: (name: string, exitCode: string) => void,
  ) {}

  push(chunk: string): void {
    this.lines.push(chunk);
  }

  private event(line: string): void {
    let ev: DockerEvent;
    try {
      ev = JSON.parse(line) as DockerEvent;
    } catch {
      return;
    }
    const id = ev.Actor?.ID ?? ev.id ?? "";
    const action = ev.Action ?? ev.status ?? "";
    if (action === "kill") this.stopped.add(id);
    if (action !== "die" || this.stopped.has(id)) return;
    const attrs = ev.Actor?.Attributes ?? {};
    const name = attrs.name ?? id.slice(0, 12);
    void this.isTarget(id).then(
      (yes) => yes && this.onCrash(name, attrs.exitCode ?? "?"),
      () => {},
    );
  }
}

/**
 * Follows the service's `kill` and `die` events and calls `onCrash` for a container of
 * `imageId` that died unasked. Returns the function that stops following. Best effort: if
 * the stream cannot be opened or breaks, the controller's own observations still see the
 * death, only later.
 */
export async function watchCrashes(
  docker: Docker,
  svc: ServiceRef,
  imageId: string,
  onCrash: (name: string, exitCode: string) => void,
): Promise<() => void> {
  const isTarget = async (id: string) => (await docker.getContainer(id).inspect()).Image === imageId;
  const filter = new CrashFilter(isTarget, onCrash);
  let stream: Readable;
  try {
    stream = (await docker.getEvents({
      filters: { type: ["container"], event: ["kill", "die"], ...serviceFilters(svc) },
    })) as Readable;
  } catch {
    return () => {};
  }
  stream.on("data", (chunk: Buffer) => filter.push(chunk.toString("utf8")));
  stream.on("error", () => {});
  return () => stream.destroy();
}
