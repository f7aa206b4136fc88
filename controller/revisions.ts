// The revision rules, pure, beside the controller (as Kubernetes keeps them in its
// deployment controller's sync.go and rollback.go): which image a service runs now, the
// next revision's number, what undo and repair go back to, and when records were lost.
import { RefusedError } from "./errors.js";
import type { Observation, Replica } from "./model.js";
import type { Revision, ServiceRef } from "./ports.js";

type ImageRef = { ref: string; id: string };

/** The image the service runs now, and how many replicas serve it (most common image wins). */
export function current(obs: Observation): { image?: ImageRef; replicas: number } {
  const running = obs.replicas.filter((r) => r.running);
  const counts = new Map<string, { ref: string; id: string; n: number }>();
  for (const r of running) {
    const c = counts.get(r.imageId) ?? { ref: r.imageRef, id: r.imageId, n: 0 };
    c.n++;
    counts.set(r.imageId, c);
  }
  const top = [...counts.values()].sort((a, b) => b.n - a.n)[0];
  return top ? { image: { ref: top.ref, id: top.id }, replicas: running.length } : { replicas: 0 };
}

/**
 * The number the next rollout records: one past the newest kept record. Numbers only grow:
 * undo records a new revision rather than rewinding to an old number.
 */
export function nextRevision(history: Revision[]): number {
  return (history[0]?.number ?? 0) + 1;
}

/**
 * Records gone although compose-roll rolled the running containers (they carry the revision
 * label): say so, once, instead of quietly starting over. Nothing is rolled back to on the
 * strength of what is gone: undo falls back to the containers' own previous-image labels.
 */
export function historyLost(svc: ServiceRef, obs: Observation, history: Revision[]): string | undefined {
  if (history.length) return undefined;
  const revs = obs.replicas.flatMap((r) => (r.running && r.revision ? [r.revision] : []));
  if (!revs.length) return undefined;
  return (
    `no revision records of ${svc.project}/${svc.service} are on the Docker host, although its containers were rolled out as revision ${Math.max(...revs)}: ` +
    "they were deleted (`docker system prune --volumes`, or `docker volume prune` after `docker container prune`); " +
    "continuing without history: undo can go back only to the image the running containers name, and revisions start again at 1"
  );
}

/**
 * Kubernetes' rollback: the newest complete revision before the current one whose image
 * differs, rolled out as a NEW revision. Without a readable history, the running
 * containers' labels still say which image they replaced.
 */
export function undoTarget(
  history: Revision[],
  runningId: string,
  replicas: Replica[],
  toRevision?: number,
): { ref: string; id: string; why: string } | undefined {
  if (toRevision !== undefined) {
    const rev = history.find((r) => r.number === toRevision);
    if (!rev) {
      const kept = history.map((r) => r.number).join(", ") || "none";
      throw new RefusedError(
        `--to-revision: no revision ${toRevision} in the history (kept: ${kept})`,
        "pick one `compose-roll history` lists",
      );
    }
    return { ...rev.image, why: `revision ${rev.number}` };
  }
  const at = history.findIndex((r) => r.result === "complete" && r.image.id === runningId);
  const older = history.slice(at + 1).find((r) => r.result === "complete" && r.image.id !== runningId);
  if (older) return { ...older.image, why: `revision ${older.number}` };
  const labelled = replicas.find(
    (r) => r.running && r.imageId === runningId && r.previousImage,
  )?.previousImage;
  if (labelled && labelled.id !== runningId) return { ...labelled, why: "the running containers' labels" };
  return undefined;
}

/**
 * What a repair with no interrupted run's lock converges on: the newest complete revision,
 * else the image most replicas run now. Undefined: nothing runs and nothing is recorded.
 */
export function repairTarget(history: Revision[], obs: Observation): ImageRef | undefined {
  return history.find((r) => r.result === "complete")?.image ?? current(obs).image;
}

/** One release as `history` shows it: its id, when it started, each service's image. */
export interface ReleaseEntry {
  id: string;
  at: string;
  services: { service: string; revision: Revision }[];
}

/**
 * The project's records grouped by release (settings.release), newest first; a record from
 * before releases, or a single-service rollout recorded without one, is a release of its own.
 */
export function releasesOf(records: { service: string; revision: Revision }[]): ReleaseEntry[] {
  const byId = new Map<string, ReleaseEntry>();
  for (const r of records) {
    const id = r.revision.settings?.release ?? `${r.service}#${r.revision.number}`;
    const e = byId.get(id) ?? { id, at: r.revision.at, services: [] };
    if (r.revision.at < e.at) e.at = r.revision.at;
    // A service's first rollout records what it found before what it rolled to, both in this
    // release: the release changed the service to its newest record of the two.
    const same = e.services.findIndex((x) => x.service === r.service);
    if (same < 0) e.services.push(r);
    else if ((e.services[same] as { revision: Revision }).revision.number < r.revision.number)
      e.services[same] = r;
    byId.set(id, e);
  }
  for (const e of byId.values()) e.services.sort((a, b) => a.service.localeCompare(b.service));
  return [...byId.values()].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

/** A service's image before a release, as undoing the release restores it. */
export interface ReleaseUndoTarget {
  service: string;
  ref: string;
  id: string;
  why: string;
}

/**
 * What undoing a release goes back to, per service: the image that ran before the release
 * (the newest complete revision older than the release's own, else the image the release's
 * record says it replaced). A service the release changed only in configuration ran the same
 * image before: it is `unchanged` (a revision records images; its configuration is the files').
 * A service whose earlier image is unknown is refused: restoring part of a release is not
 * restoring it; so is a release with no image to go back to at all.
 */
export function releaseUndoTargets(
  release: ReleaseEntry,
  histories: Map<string, Revision[]>,
): { targets: ReleaseUndoTarget[]; unchanged: string[] } {
  const targets: ReleaseUndoTarget[] = [];
  const unchanged: string[] = [];
  for (const { service, revision } of release.services) {
    const history = histories.get(service) ?? [];
    const at = history.findIndex((r) => r.number === revision.number);
    const before = history.slice(at + 1).find((r) => r.result === "complete");
    const image = before?.image ?? revision.previousImage;
    if (!image) {
      throw new RefusedError(
        `release ${release.id}: no earlier image of ${service} is recorded to undo to`,
        `undo the services one by one (compose-roll undo <service>), or roll ${service} to a chosen image`,
      );
    }
    if (image.id === revision.image.id) unchanged.push(service);
    else
      targets.push({
        service,
        ref: image.ref,
        id: image.id,
        why: before ? `revision ${before.number}` : `the image revision ${revision.number} replaced`,
      });
  }
  if (!targets.length) {
    throw new RefusedError(
      `release ${release.id} changed only the configuration of ${unchanged.join(", ")}: there is no earlier image to go back to`,
      "revert the configuration in the compose files and run compose-roll up",
    );
  }
  return { targets, unchanged };
}
