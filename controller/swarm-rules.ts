// What compose-roll decides about a Swarm stack service before touching it: the engine's role,
// the service's mode, how Traefik routes it and whether its placement leaves room for one more
// task. Pure: the Swarm adapter (engine/swarm/) gathers the facts, these rules judge them.

/** Traefik's Swarm provider reads these from the service's labels (compose `deploy.labels`). */
const LBSWARM = ["traefik.swarm.lbswarm", "traefik.docker.lbswarm"];

export interface SwarmServiceFacts {
  /** `<stack>_<service>`, as `docker service` names it. */
  name: string;
  /** `com.docker.stack.namespace`. */
  stack: string;
  mode: "replicated" | "global" | "replicated-job" | "global-job";
  replicas: number;
  /** The service's own labels (compose `deploy.labels`): the ones Traefik's Swarm provider reads. */
  labels: Record<string, string>;
  /** The task template's container labels (compose `labels`): Traefik ignores them on Swarm. */
  containerLabels: Record<string, string>;
  /** `deploy.placement.max_replicas_per_node`; 0 or undefined = no limit. */
  maxPerNode?: number;
  /** Nodes ready, active and matching the service's placement constraints. */
  eligibleNodes: number;
}

export interface SwarmFacts {
  role: "manager" | "worker";
  /** Undefined on a worker (it cannot list services) or when no stack service has this name. */
  service?: SwarmServiceFacts;
  /** Traefik's Swarm provider poll in seconds, when a Traefik with that provider was found. */
  pollSeconds?: number;
}

export interface SwarmVerdict {
  /** What was found, one line. */
  message: string;
  /** What to do, one line. */
  hint: string;
}

const traefikKeys = (labels: Record<string, string>) =>
  Object.keys(labels).filter((k) => k.startsWith("traefik."));

/** Whether Swarm can place replicas + 1 tasks at once: max per node × eligible nodes. */
export function roomForSurge(replicas: number, maxPerNode: number | undefined, eligible: number): boolean {
  if (!maxPerNode) return eligible > 0;
  return maxPerNode * eligible >= replicas + 1;
}

/**
 * The first rule a Swarm stack service (or a worker engine) breaks, undefined when it breaks
 * none. Every answer refuses (exit 2): nothing has been changed when it is given.
 */
export function swarmVerdict(facts: SwarmFacts): SwarmVerdict | undefined {
  if (facts.role === "worker") {
    return {
      message: "this Docker host is a Swarm worker: only a manager can read and update services",
      hint: "point compose-roll at a manager (-H ssh://user@manager or DOCKER_HOST); `docker node ls` on one lists them",
    };
  }
  const s = facts.service;
  if (!s) throw new Error("swarmVerdict: a manager without a service has nothing to judge");
  if (s.mode !== "replicated") {
    return {
      message: `${s.name} runs in ${s.mode} mode: a rollout adds a task beside each old one, which a ${s.mode} service cannot have`,
      hint: "set deploy.mode: replicated with deploy.replicas, `docker stack deploy` it, then roll it",
    };
  }
  const lb = LBSWARM.find((k) => s.labels[k]?.toLowerCase() === "true");
  if (lb) {
    return {
      message: `${s.name} sets ${lb}=true: Traefik routes to the service's VIP and cannot take single tasks in or out`,
      hint: `remove ${lb} from deploy.labels so Traefik routes to each task, \`docker stack deploy\` it, then roll it`,
    };
  }
  if (traefikKeys(s.labels).length === 0) {
    const misplaced = traefikKeys(s.containerLabels).length > 0;
    return {
      message: misplaced
        ? `${s.name} has its traefik.* labels on the containers: Traefik's Swarm provider reads only the service's labels`
        : `${s.name} has no traefik.* labels on the service, so Traefik does not route it`,
      hint: misplaced
        ? "move the traefik.* labels under deploy.labels, `docker stack deploy` it, then roll it"
        : "route it through Traefik with traefik.* labels under deploy.labels (Swarm provider), then roll it",
    };
  }
  if (!roomForSurge(s.replicas, s.maxPerNode, s.eligibleNodes)) {
    const limit = s.maxPerNode ?? 0;
    return {
      message: `${s.name} needs room for ${s.replicas + 1} tasks during a rollout but max_replicas_per_node ${limit} × ${s.eligibleNodes} eligible node(s) allows ${limit * s.eligibleNodes}: the new task could never be placed (Swarm's own start-first update hangs there)`,
      hint: `raise deploy.placement.max_replicas_per_node to ${Math.ceil((s.replicas + 1) / Math.max(s.eligibleNodes, 1))}, add a node or lower the replicas`,
    };
  }
  return undefined;
}

/** The facts detected, one line: what a rollout starts from. */
export function describeSwarm(facts: SwarmFacts): string {
  const s = facts.service;
  if (!s) return "a Swarm worker";
  const poll = facts.pollSeconds !== undefined ? `, Traefik Swarm poll ${facts.pollSeconds} s` : "";
  return `${s.name} is a Swarm stack service (stack ${s.stack}, ${s.replicas} replica(s), ${s.eligibleNodes} eligible node(s)${poll})`;
}
