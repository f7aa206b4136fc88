// The decision core: given what is observed now and the goal, name the ONE next step.
// Pure (no I/O). The controller observes, takes that step, and observes again, so a
// rollout that was interrupted resumes from what it actually sees, and rolling back is
// the same loop driven towards the previous image.
import type { Goal, Observation, Replica } from "./model.js";

export type Step =
  /** Start one more container of the goal image. */
  | { kind: "start"; number: number }
  /** Wait for a started container of the goal image to turn healthy. */
  | { kind: "await-health"; replica: Replica }
  /**
   * Prove Traefik reaches it, then add it to the service; with `retire`, take that old one
   * out in the same write (one Traefik reload per replica, see swapOut).
   */
  | { kind: "route"; replica: Replica; retire?: Replica }
  /** Take it out of Traefik (if it is in), let in-flight requests finish, stop and remove it. */
  | { kind: "retire"; replica: Replica }
  /** A server listed in Traefik's file with no container behind it. */
  | { kind: "unroute-orphan"; url: string }
  /** A container of the goal image failed; the goal cannot be reached. */
  | { kind: "fail"; replica: Replica; reason: string }
  | { kind: "done" };

/**
 * How many containers may exist at once while rolling: the goal plus the surge.
 * Kubernetes' maxSurge, always at least 1 here because we never go below `replicas`
 * serving (maxUnavailable is fixed at 0: a deploy nobody notices).
 *   replicas 3, maxSurge 1 → at most 4 containers: start 1 new, route it, retire 1 old.
 *   replicas 3, maxSurge 3 → at most 6: all 3 new boot side by side, then the old go.
 */
export function maxContainers(goal: Goal): number {
  return goal.replicas + Math.max(1, goal.maxSurge);
}

/**
 * The smallest container number not in use, counting containers still draining (they keep
 * their name until removed). Compose takes highest+1, which climbs with every rollout
 * (web-4..6, then 7..9, ...); lowest-free keeps names at <project>-<service>-1..N+surge:
 *   1 2 3 → start 4, retire 1 → start 1, retire 2 → start 2, retire 3 → {4, 1, 2}
 *   next rollout: start 3, retire 4 → start 4, retire 1 → start 1 … never above N + surge.
 */
export function nextNumber(replicas: Replica[], held: readonly number[] = []): number {
  const used = new Set([...replicas.map((r) => r.number), ...held]);
  let n = 1;
  while (used.has(n)) n++;
  return n;
}

const isGoal = (goal: Goal) => (r: Replica) =>
  r.imageId === goal.image.id && (goal.config === undefined || r.configHash === goal.config);
const isServing = (r: Replica) => r.running && (r.health === "healthy" || r.health === "none");

export function decide(obs: Observation, goal: Goal): Step {
  const routed = new Set(obs.routed);
  const inRouter = (r: Replica) => r.url !== undefined && routed.has(r.url);
  const known = new Set(obs.replicas.flatMap((r) => (r.url ? [r.url] : [])));

  const fresh = obs.replicas.filter(isGoal(goal));
  const others = obs.replicas.filter((r) => !isGoal(goal)(r));

  // 1. A goal container this run started that died or turned unhealthy means the goal image
  //    is bad (or can't run here): stop pushing it. The caller decides whether that means
  //    restore. One another run left so (a killed run's old container, stopped by its drain
  //    but not removed, when a repair goes back to that image) is only a leftover: step 3.
  const ours = (r: Replica) => obs.mine === undefined || obs.mine.includes(r.id);
  const down = (r: Replica) => !r.running || r.health === "unhealthy";
  const failed = fresh.find((r) => ours(r) && down(r));
  if (failed) {
    const reason = failed.running
      ? `${failed.name} is unhealthy`
      : `${failed.name} exited${failed.exitCode === undefined ? "" : ` with code ${failed.exitCode}`}`;
    return { kind: "fail", replica: failed, reason };
  }

  // 2. Servers Traefik would send to but no container answers for: remove them first,
  //    they can only fail requests.
  const orphan = obs.routed.find((url) => !known.has(url));
  if (orphan) return { kind: "unroute-orphan", url: orphan };

  // 3. An old container that is stopped (docker-rollout#20), unhealthy (hung: what Traefik
  //    sends it times out) or not in Traefik serves nobody: if still routed it fails
  //    requests, otherwise it only holds the surge. It goes first, before any replacement.
  //    When restoring, this is where the failed new containers go, and where a goal
  //    container another run left stopped or unhealthy goes.
  const idle =
    others.find((r) => !r.running || !inRouter(r) || r.health === "unhealthy") ??
    fresh.find((r) => !ours(r) && down(r));
  if (idle) return { kind: "retire", replica: idle };

  // From here every container is running and every old one is routed.
  const freshRouted = fresh.filter(inRouter);
  const othersRouted = others.filter(inRouter);
  const serving = freshRouted.length + othersRouted.length;

  // 4. More servers than the goal: retire an old one. A route step usually swaps the old
  //    one out itself (swapOut); this catches what an interrupted run left (resume).
  if (serving > goal.replicas && othersRouted.length > 0) {
    return { kind: "retire", replica: oldestFirst(othersRouted)[0] as Replica };
  }

  // 5. Enough new ones serve: every remaining old container goes, then surplus new
  //    ones (a scale-down).
  if (freshRouted.length >= goal.replicas) {
    const old = oldestFirst(othersRouted)[0];
    if (old) return { kind: "retire", replica: old };
    const unroutedFresh = fresh.filter((r) => !inRouter(r));
    if (unroutedFresh[0]) return { kind: "retire", replica: unroutedFresh[0] };
    if (freshRouted.length > goal.replicas) {
      return { kind: "retire", replica: oldestFirst(freshRouted)[0] as Replica };
    }
    return { kind: "done" };
  }

  // 6. Bring new ones in: route a healthy one, start another while the surge allows
  //    (so several boot side by side), else wait for the next to become healthy.
  const pending = fresh.filter((r) => !inRouter(r));
  const ready = pending.find(isServing);
  if (ready) {
    const retire = swapOut(freshRouted.length + 1, othersRouted, goal);
    return retire ? { kind: "route", replica: ready, retire } : { kind: "route", replica: ready };
  }

  const needed = goal.replicas - freshRouted.length;
  const room = maxContainers(goal) - (serving + pending.length);
  if (pending.length < needed && room > 0)
    return { kind: "start", number: nextNumber(obs.replicas, obs.held) };

  const booting = pending.find((r) => r.health === "starting");
  if (booting) return { kind: "await-health", replica: booting };

  // Unreachable: pending containers are ready, booting or failed (step 1), and with none
  // pending, serving <= replicas leaves room to start one.
  throw new Error(`decide: no step for ${JSON.stringify(obs)} (a bug in compose-roll)`);
}

/**
 * The old container that leaves Traefik in the same write that adds a proven new one, so
 * each replica costs one reload instead of two (Traefik applies the first change at once
 * and holds later ones for its 2 s throttle). Only when the write keeps `replicas` serving:
 * Traefik swaps its handler atomically, so users go from N servers to N servers, the new
 * one already answered a live probe, and the old one finishes its in-flight requests.
 *   replicas 3, new routed after the write 1, old routed 3 → 4 > 3: swap out the oldest.
 *   replicas 3, new 1, old 2 (an old one already gone) → 3: nothing to swap, just add.
 *   replicas 1, new 1, old 1 → 2 > 1: swap (the only old one).
 */
export function swapOut(freshAfter: number, othersRouted: Replica[], goal: Goal): Replica | undefined {
  // A bake compares the new replica with the old ones in the same seconds: none leaves yet
  // (step 4 retires the surplus once the bake has passed).
  if (goal.bake) return undefined;
  if (freshAfter + othersRouted.length <= goal.replicas) return undefined;
  return oldestFirst(othersRouted)[0];
}

/** Lower compose numbers are older; retiring them first matches compose's own ordering. */
function oldestFirst(rs: Replica[]): Replica[] {
  return [...rs].sort((a, b) => a.number - b.number);
}
