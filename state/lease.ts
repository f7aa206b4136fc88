// The lease under the lock (README "The lock is a lease"). A container's labels are fixed at
// create time, so a renewal cannot update the lock; it is a new never-started container,
// compose-roll-lease.<project>.<service>.<gen>, labelled with the lock container's ID. The
// Docker host stamps each create with its own clock (`Created`), and a waiter reads the
// host's clock too (`GET /info` SystemTime), so "last renewed N s ago" never mixes two
// machines' clocks. The holder keeps only its newest renewal; a renewal whose lock is gone
// is garbage, removed by whoever sees it.
import type Docker from "dockerode";
import { EngineError } from "../controller/errors.js";
import type { ServiceRef } from "../controller/ports.js";
import { call } from "../engine/docker.js";
import { createStateContainer, listState, removeStateContainer } from "./containers.js";
import { LeaseLabel, leaseName, ownerFilter, ownerLabels } from "./labels.js";

export interface Renewal {
  id: string;
  lockId: string;
  gen: number;
  /** Docker host time, ms (list gives whole seconds: rounded up, so an age is never overstated). */
  created: number;
}

export async function renewals(docker: Docker, svc: ServiceRef): Promise<Renewal[]> {
  const listed = await listState(
    docker,
    ownerFilter(svc, "lease"),
    `list the lease renewals of ${svc.project}/${svc.service}`,
  );
  return listed.map((c) => ({
    id: c.Id,
    lockId: c.Labels?.[LeaseLabel.lockId] ?? "",
    gen: Number(c.Labels?.[LeaseLabel.gen] ?? 0) || 0,
    created: (c.Created + 1) * 1000,
  }));
}

/** Creates renewal `gen` (or the next free one) of lock `lockId`; its ID and generation. */
export async function renew(
  docker: Docker,
  svc: ServiceRef,
  lockId: string,
  gen: number,
  imageId: string,
): Promise<{ id: string; gen: number }> {
  const what = `renew the lock lease of ${svc.project}/${svc.service}`;
  // A taken generation is a renewal left by an earlier holder that nobody removed yet.
  for (let g = gen; g < gen + 5; g++) {
    const labels = { ...ownerLabels(svc, "lease"), [LeaseLabel.lockId]: lockId, [LeaseLabel.gen]: String(g) };
    const made = await createStateContainer(docker, leaseName(svc, g), imageId, labels, what);
    if (made.created) return { id: made.id, gen: g };
  }
  const [last] = (await renewals(docker, svc)).sort((a, b) => b.gen - a.gen);
  return renew(docker, svc, lockId, (last?.gen ?? gen) + 1, imageId);
}

/** Removes renewals: of the lock `lockId` (all but `keep`), or of any lock but `lockId` (`others`). */
export async function dropRenewals(
  docker: Docker,
  svc: ServiceRef,
  which: { of: string; keep?: string } | { notOf: string },
): Promise<void> {
  const all = await renewals(docker, svc);
  const drop = all.filter((r) =>
    "of" in which ? r.lockId === which.of && r.id !== which.keep : r.lockId !== which.notOf,
  );
  const what = `remove an old lease renewal of ${svc.project}/${svc.service}`;
  await Promise.all(drop.map((r) => removeStateContainer(docker, r.id, what)));
}

export { hostNow } from "../engine/docker.js";

/** When the lock `lockId` (created at `lockCreated`, host ms) was last renewed. */
export function lastRenewed(all: Renewal[], lockId: string, lockCreated: number): number {
  return all.filter((r) => r.lockId === lockId).reduce((t, r) => Math.max(t, r.created), lockCreated);
}
