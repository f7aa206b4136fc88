// Notices, the moment it happens, that a container of the new image died on its own while a
// rollout goes forward. Without it the controller saw the death only at its next observation,
// after the step in hand: a routed container that crashed kept its server in Traefik while
// the next replica booted (502s and hung keep-alive requests for as long as that took),
// and one that crashed while being probed was probed for the
// whole --route-timeout. A container compose-roll (or anyone) stops gets a `kill` event
// before its `die`; a crash, an OOM kill or `exit` in the app does not.
import type Docker from "dockerode";
import type { ContainerEvents, ServiceRef } from "../controller/ports.js";
import { actionOf, type DockerEvent, type EventFeed, EventLines, openEvents } from "./events.js";
import { serviceFilters } from "./replicas.js";

/** Feeds event lines to `onCrash` for containers of `imageId` that died without being stopped. */
export class CrashFilter {
  private readonly stopped = new Set<string>();
  private readonly lines = new EventLines((ev) => this.event(ev));

  constructor(
    private readonly isTarget: (id: string) => Promise<boolean>,
    private readonly onCrash: (name: string, exitCode: string) => void,
  ) {}

  push(chunk: string): void {
    this.lines.push(chunk);
  }

  event(ev: DockerEvent): void {
    const id = ev.Actor?.ID ?? ev.id ?? "";
    const action = actionOf(ev);
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
  let feed: EventFeed;
  try {
    feed = await openEvents(docker, { type: ["container"], event: ["kill", "die"], ...serviceFilters(svc) });
  } catch {
    return () => {};
  }
  feed.onEvent((ev) => filter.event(ev));
  feed.stream.on("error", () => {});
  return () => feed.stream.destroy();
}

/** The ContainerEvents port over Docker's event stream. */
export class DockerEvents implements ContainerEvents {
  constructor(private readonly docker: Docker) {}

  watchCrashes(svc: ServiceRef, imageId: string, onCrash: (name: string, exitCode: string) => void) {
    return watchCrashes(this.docker, svc, imageId, onCrash);
  }
}
