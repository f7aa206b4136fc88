// What `undo` goes back to on a Swarm, from the revisions recorded in the cluster. The rule is
// the one revisions.ts applies on one host (the newest complete revision before the running one
// whose image differs, or the one --to-revision names); where a host falls back to its
// containers' previous-image labels, a Swarm record names the image it replaced itself.
import type { Revision } from "./records.js";
import { undoTarget } from "./revisions.js";

export interface SwarmUndoTarget {
  /** The ref as `docker stack deploy` records it (com.docker.stack.image): no digest. */
  ref: string;
  /** `ref@digest`: what the service's tasks run. */
  pinned: string;
  why: string;
}

/**
 * `ref@digest` → `ref` when ref names a tag (registry/app:v1@sha256:… → registry/app:v1); a ref
 * given by digest alone stays as it is, since that is how a stack file would name it.
 */
export function tagOf(pinned: string): string {
  const at = pinned.indexOf("@");
  if (at < 0) return pinned;
  const name = pinned.slice(0, at);
  return /:[^/]+$/.test(name) ? name : pinned;
}

/** Undefined when nothing recorded is earlier than the image the service runs (`running`, pinned). */
export function swarmUndoTarget(
  history: Revision[],
  running: string,
  toRevision?: number,
): SwarmUndoTarget | undefined {
  const found = undoTarget(history, running, [], toRevision);
  if (found) return { ref: tagOf(found.id), pinned: found.id, why: found.why };
  // The record that rolled the running image in names what it replaced: the first rollout's
  // record is the only one that knows the image `docker stack deploy` started it with.
  const rolledIn = history.find(
    (r) => r.result === "complete" && r.image.id === running && r.previousImage?.id !== running,
  );
  const before = rolledIn?.previousImage;
  if (!rolledIn || !before) return undefined;
  return {
    ref: tagOf(before.id),
    pinned: before.id,
    why: `the image revision ${rolledIn.number} replaced`,
  };
}
