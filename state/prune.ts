// Pure: which revision records to drop so the history keeps `keep` of them.
// Each record pins its image (it is a container created from it), so dropping a record is
// what lets `docker image prune` reclaim that image; keeping one is what protects it.
import type { Revision } from "../controller/ports.js";

/** How many revisions a service keeps when the caller does not say. */
export const DEFAULT_KEEP = 10;

/**
 * The numbers of the records to remove, oldest first. Beyond the newest `keep`, it still
 * never drops:
 * - the newest complete revision: what is (or was last known to be) serving, and
 * - the revision the newest record names as `previous`, and the one the newest complete
 *   revision names: `undo` rolls back to it and needs its image. The two differ after a
 *   failed or rolled-back rollout, whose `previous` is the complete one still serving.
 * - `written`, the record just written, even when its number is not the highest.
 * `keep` below 1 counts as 1.
 */
export function toPrune(
  revisions: readonly Revision[],
  keep: number = DEFAULT_KEEP,
  written?: number,
): number[] {
  const newestFirst = [...revisions].sort((a, b) => b.number - a.number);
  const limit = Number.isFinite(keep) ? Math.max(1, Math.floor(keep)) : DEFAULT_KEEP;
  const newest = newestFirst[0];
  const complete = newestFirst.find((r) => r.result === "complete");
  const needed = new Set<number>(written === undefined ? [] : [written]);
  for (const r of [newest, complete]) {
    if (!r) continue;
    needed.add(r.number);
    if (r.previous !== undefined) needed.add(r.previous);
  }
  return newestFirst
    .slice(limit)
    .filter((r) => !needed.has(r.number))
    .map((r) => r.number)
    .reverse();
}
