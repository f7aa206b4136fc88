// `sync` on a Swarm. Traefik's Swarm provider lists every running task of a service from the
// service's own labels at each poll, so, as in label mode on one host, there is no list to write.
// What a Swarm service can carry instead is what a killed rollout left: stand-ins, the service
// out of Traefik (or on a rollout's probe router) and the lock. sync changes none of it: only
// `repair` converges it (it proves the service before any stand-in leaves).
import { LockHeldError, RefusedError } from "../controller/errors.js";
import type { Lock, LockInfo, ServiceRef } from "../controller/ports.js";
import type { SwarmCluster } from "../controller/swarm-ports.js";
import { servesItself, usersBalancer } from "../controller/swarm-rollout.js";

export interface SwarmSyncContext {
  cluster: Pick<SwarmCluster, "snapshot" | "standIns">;
  lock: Pick<Lock, "read">;
  svc: ServiceRef;
  /** `<stack>_<service>`. */
  name: string;
  /** Whether a holder of the lock is gone (its pid, or its lease). */
  stale(holder: LockInfo): { stale: boolean; why: string };
}

/** The one line to say when nothing is left over; throws (exit 2 or 3, nothing changed) otherwise. */
export async function swarmSync(ctx: SwarmSyncContext): Promise<string> {
  const [snap, left, held] = await Promise.all([
    ctx.cluster.snapshot(ctx.name),
    ctx.cluster.standIns(ctx.name),
    ctx.lock.read(ctx.svc),
  ]);
  const gone = held && ctx.stale(held);
  if (held && gone && !gone.stale) {
    throw new LockHeldError(
      `${ctx.name} is locked by a rollout that still runs (${gone.why}): ${held.command} since ${held.since}; nothing was changed`,
      "Traefik's Swarm provider follows that rollout by itself: wait for it to end, then see `compose-roll status`",
    );
  }
  const leftovers = [
    ...(servesItself(ctx.name, snap.view.labels)
      ? []
      : ["the service out of Traefik (or on a rollout's probe router)"]),
    ...(left.length > 0 ? [`${left.length} stand-in(s): ${left.join(", ")}`] : []),
    ...(held && gone ? [`the lock of an interrupted ${held.command} (${gone.why})`] : []),
  ];
  if (leftovers.length > 0) {
    throw new RefusedError(
      `${ctx.name} carries what a killed rollout left: ${leftovers.join("; ")}; sync does not converge it, nothing was changed`,
      `run \`compose-roll repair ${ctx.svc.service}\`: it proves the service, puts it back in Traefik and retires the stand-ins`,
    );
  }
  const lb = usersBalancer(snap.view.labels);
  const routing = "name" in lb ? `${lb.name}@swarm` : "its service labels";
  return `${ctx.name} is routed by its Swarm service labels (${routing}): Traefik keeps it in sync itself; sync is not needed`;
}
