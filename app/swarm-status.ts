// What `status` reports of a Swarm stack service, read-only, from the cluster through a manager:
// its image, its tasks against the replicas it wants, whether its own labels put it in Traefik,
// stand-ins a killed run left, the lock and the newest revision recorded in the cluster.
import type { History, Lock, LockInfo, Revision, ServiceRef } from "../controller/ports.js";
import type { SwarmCluster } from "../controller/swarm-ports.js";
import { type SwarmTaskView, servesItself } from "../controller/swarm-rollout.js";

export interface SwarmStatusContext {
  cluster: Pick<SwarmCluster, "snapshot" | "tasks" | "standIns">;
  lock: Pick<Lock, "read">;
  history: Pick<History, "list">;
  svc: ServiceRef;
  /** `<stack>_<service>`. */
  name: string;
}

export interface SwarmStatus {
  name: string;
  /** `ref@digest`, as the task template pins it. */
  image: string;
  replicas: number;
  /** Tasks of the current spec running (RUNNING means healthy on Swarm). */
  running: number;
  tasks: SwarmTaskView[];
  /** Its own labels route it (false: out of Traefik, or on a rollout's probe router). */
  inTraefik: boolean;
  standIns: string[];
  lock?: LockInfo;
  last?: Revision;
}

export async function swarmStatus(ctx: SwarmStatusContext): Promise<SwarmStatus> {
  const [snap, tasks, standIns, lock, history] = await Promise.all([
    ctx.cluster.snapshot(ctx.name),
    ctx.cluster.tasks(ctx.name),
    ctx.cluster.standIns(ctx.name),
    ctx.lock.read(ctx.svc),
    ctx.history.list(ctx.svc),
  ]);
  const v = snap.view;
  return {
    name: v.name,
    image: v.image,
    replicas: v.replicas,
    running: tasks.filter((t) => t.state === "running" && t.desired === "running").length,
    tasks,
    inTraefik: servesItself(v.name, v.labels),
    standIns,
    ...(lock ? { lock } : {}),
    ...(history[0] ? { last: history[0] } : {}),
  };
}
