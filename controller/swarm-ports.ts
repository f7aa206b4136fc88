// Ports of the Swarm rollout (app/swarm-roll.ts): the cluster (engine/swarm/cluster.ts) and
// Traefik's view of it (traefik/swarm.ts). Fakes in app/swarm-roll.test.ts.
import type { SwarmTaskView } from "./swarm-rollout.js";

export interface SwarmServiceView {
  name: string;
  /** Swarm's spec version: every update bumps it. */
  version: number;
  /** The task template's image, `ref@digest` as a stack deploy pins it. */
  image: string;
  replicas: number;
  /** The service's own labels (compose `deploy.labels`): what Traefik's Swarm provider reads. */
  labels: Record<string, string>;
}

/** A service as read before anything changed: what a restore puts back. */
export interface SwarmSnapshot {
  view: SwarmServiceView;
  /** Opaque to the use case: the adapter's copy of the whole spec. */
  spec: unknown;
}

export interface SwarmCluster {
  snapshot(name: string): Promise<SwarmSnapshot>;
  /** `ref@digest` through the registry, as `docker service update --image` pins it. */
  resolve(image: string): Promise<string>;
  /** A one-task service `standIn` from `from`'s task template: `image`, `labels`, no published ports. */
  createStandIn(
    from: SwarmSnapshot,
    standIn: string,
    image: string,
    labels: Record<string, string>,
  ): Promise<void>;
  /** Replaces the service's labels only: its tasks keep running. */
  setLabels(name: string, labels: Record<string, string>): Promise<void>;
  /** The task template on `image` with `labels`, every task at once (stop-first): its tasks restart. */
  replace(name: string, image: string, labels: Record<string, string>): Promise<void>;
  /** `labels` back, with the snapshot's update config (neither restarts a task). */
  putBack(name: string, labels: Record<string, string>, from: SwarmSnapshot): Promise<void>;
  /** The snapshot's spec again, as it was before the rollout. */
  restore(from: SwarmSnapshot): Promise<void>;
  /** The spec updated unchanged: PreviousSpec becomes the spec, so `docker service rollback` changes nothing. */
  resubmit(name: string): Promise<void>;
  /**
   * Tasks of the service's current spec image, running or ended: Swarm keeps ended tasks (its
   * task history), so those of an image the service ran before are listed too.
   */
  tasks(name: string): Promise<SwarmTaskView[]>;
  /** Every task Swarm keeps of the service, whatever its image or state: the IDs only. */
  taskIds(name: string): Promise<string[]>;
  /**
   * The service as the rollout that made `standIn` found it: a stand-in is created from the
   * service's spec and, once in the users' balancer, carries its labels, so its labels and update
   * config are the service's own (a killed run took them off the service). The rest is the
   * service's spec as it is now.
   */
  origin(name: string, standIn: string): Promise<SwarmSnapshot>;
  /** Services of the stack whose names mark them as stand-ins of `name` (left by a killed run). */
  standIns(name: string): Promise<string[]>;
  remove(name: string): Promise<void>;
}

export interface SwarmRouting {
  /**
   * Servers of load balancer `name@swarm`; undefined when Traefik answers it has none by that
   * name. Throws when Traefik's API does not answer: unknown is not "none listed".
   */
  servers(balancer: string, signal: AbortSignal): Promise<string[] | undefined>;
  /** One request through Traefik's entrypoint with the probe header `token`. */
  probe(token: string, signal: AbortSignal): Promise<{ ok: boolean; detail: string }>;
}
