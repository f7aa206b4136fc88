// Whether the Docker host is a Swarm node and the service a Swarm stack service, and the facts
// controller/swarm-rules.ts judges: the engine's role, the service's mode, labels and placement,
// the nodes it may run on, and the poll of a Traefik Swarm provider when one is found.
import type Docker from "dockerode";
import type { SwarmFacts, SwarmServiceFacts } from "../../controller/swarm-rules.js";
import { call, hasProjectContainers } from "../docker.js";
import { STAND_IN } from "./cluster.js";
import { type ElectionWait, electionWait, swarmCall } from "./election.js";
import { eligibleNodes, type SwarmNode } from "./placement.js";

const STACK = "com.docker.stack.namespace";

interface ServiceSpec {
  Name: string;
  Labels?: Record<string, string>;
  Mode?: { Replicated?: { Replicas?: number }; Global?: object; ReplicatedJob?: object; GlobalJob?: object };
  TaskTemplate?: {
    ContainerSpec?: { Labels?: Record<string, string>; Args?: string[] };
    Placement?: { Constraints?: string[]; MaxReplicas?: number };
  };
}

/**
 * Undefined when the engine is not in a swarm, or is a manager without a stack service
 * `<project>_<service>` (then it is the compose case). On a worker, which cannot list
 * services, only a compose project running there is left to the compose case.
 */
export async function detectSwarm(
  docker: Docker,
  svc: { project: string; service: string },
  wait: ElectionWait = electionWait,
): Promise<SwarmFacts | undefined> {
  const info = (await call("read the Docker host's swarm state", () => docker.info())) as {
    Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
  };
  if (info.Swarm?.LocalNodeState !== "active") return undefined;
  if (!info.Swarm.ControlAvailable) {
    return (await hasProjectContainers(docker, svc.project)) ? undefined : { role: "worker" };
  }
  const name = `${svc.project}_${svc.service}`;
  // A manager forwards these to the Raft leader: through an election they wait for one.
  const services = (await swarmCall(wait, `list the Swarm services named ${name}`, () =>
    docker.listServices({ filters: { name: [name], label: [`${STACK}=${svc.project}`] } }),
  )) as unknown as { Spec: ServiceSpec }[];
  // The name filter matches prefixes: keep the exact one.
  const spec = services.find((s) => s.Spec.Name === name)?.Spec;
  if (!spec) return undefined;
  const nodes = (await swarmCall(wait, "list the Swarm's nodes", () =>
    docker.listNodes(),
  )) as unknown as SwarmNode[];
  const service = serviceFacts(spec, eligibleNodes(nodes, spec.TaskTemplate?.Placement?.Constraints ?? []));
  const pollSeconds = await traefikPoll(docker).catch(() => undefined);
  return { role: "manager", service, ...(pollSeconds !== undefined ? { pollSeconds } : {}) };
}

/**
 * The one service of stack `stack` that Traefik routes (its labels define a router), without its
 * stack prefix: what a command given no service name means on a Swarm manager. Undefined off a
 * manager, or when the stack routes none or several.
 */
export async function routedStackService(
  docker: Docker,
  stack: string,
  wait: ElectionWait = electionWait,
): Promise<string | undefined> {
  const info = (await call("read the Docker host's swarm state", () => docker.info())) as {
    Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
  };
  if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm.ControlAvailable) return undefined;
  const services = (await swarmCall(wait, `list the services of stack ${stack}`, () =>
    docker.listServices({ filters: { label: [`${STACK}=${stack}`] } }),
  )) as unknown as { Spec: ServiceSpec }[];
  const routed = services
    .map((s) => s.Spec)
    .filter((spec) => {
      const labels = spec.Labels ?? {};
      if (labels[STACK] !== stack || STAND_IN in labels || !spec.Name.startsWith(`${stack}_`)) return false;
      return Object.keys(labels).some((k) => k.startsWith("traefik.http.routers."));
    });
  const [only, ...more] = routed;
  return only && more.length === 0 ? only.Name.slice(stack.length + 1) : undefined;
}

export function serviceFacts(spec: ServiceSpec, eligible: number): SwarmServiceFacts {
  const m = spec.Mode ?? {};
  const mode = m.Global
    ? "global"
    : m.ReplicatedJob
      ? "replicated-job"
      : m.GlobalJob
        ? "global-job"
        : "replicated";
  const maxPerNode = spec.TaskTemplate?.Placement?.MaxReplicas;
  return {
    name: spec.Name,
    stack: spec.Labels?.[STACK] ?? "",
    mode,
    replicas: m.Replicated?.Replicas ?? 1,
    labels: spec.Labels ?? {},
    containerLabels: spec.TaskTemplate?.ContainerSpec?.Labels ?? {},
    ...(maxPerNode ? { maxPerNode } : {}),
    eligibleNodes: eligible,
  };
}

/** `--providers.swarm.refreshSeconds` (15 s when unset) of a Traefik with the Swarm provider. */
export function pollOf(args: string[]): number | undefined {
  if (!args.some((a) => a.startsWith("--providers.swarm"))) return undefined;
  const set = args.find((a) => a.toLowerCase().startsWith("--providers.swarm.refreshseconds="));
  const n = Number.parseFloat(set?.split("=")[1]?.replace(/s$/, "") ?? "15");
  return Number.isFinite(n) ? n : undefined;
}

/** Looks for Traefik in the swarm's services, then in this engine's containers. */
async function traefikPoll(docker: Docker): Promise<number | undefined> {
  const services = (await docker.listServices()) as unknown as { Spec: ServiceSpec }[];
  for (const s of services) {
    const poll = pollOf(s.Spec.TaskTemplate?.ContainerSpec?.Args ?? []);
    if (poll !== undefined) return poll;
  }
  for (const c of await docker.listContainers()) {
    if (!/traefik/i.test(c.Image)) continue;
    const inspect = await docker.getContainer(c.Id).inspect();
    const poll = pollOf(inspect.Args ?? []);
    if (poll !== undefined) return poll;
  }
  return undefined;
}
