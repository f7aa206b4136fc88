// Which nodes a Swarm service's tasks may run on: ready, active, and matching its placement
// constraints (`node.role`, `node.hostname`, `node.id`, `node.labels.*`, `engine.labels.*`,
// `node.platform.os/arch`, with == or !=), as swarmkit's constraint filter reads them.

export interface SwarmNode {
  ID: string;
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Description?: {
    Hostname?: string;
    Platform?: { OS?: string; Architecture?: string };
    Engine?: { Labels?: Record<string, string> };
  };
  Status?: { State?: string };
}

function nodeValue(node: SwarmNode, key: string): string | undefined {
  const k = key.toLowerCase();
  if (k === "node.id") return node.ID;
  if (k === "node.role") return node.Spec?.Role;
  if (k === "node.hostname") return node.Description?.Hostname;
  if (k === "node.platform.os") return node.Description?.Platform?.OS;
  if (k === "node.platform.arch") return node.Description?.Platform?.Architecture;
  // Label names keep their case.
  if (k.startsWith("node.labels.")) return node.Spec?.Labels?.[key.slice("node.labels.".length)];
  if (k.startsWith("engine.labels."))
    return node.Description?.Engine?.Labels?.[key.slice("engine.labels.".length)];
  return undefined;
}

/** One constraint `key==value` or `key!=value`; an unreadable one matches (Swarm would refuse it at deploy). */
export function matches(node: SwarmNode, constraint: string): boolean {
  const m = /^\s*([^=!\s]+)\s*(==|!=)\s*(.*?)\s*$/.exec(constraint);
  if (!m) return true;
  const [, key = "", op, want = ""] = m;
  const have = nodeValue(node, key);
  // Swarm compares roles, hostnames and platforms case-insensitively, label values exactly.
  const exact = /labels\./i.test(key);
  const equal = have !== undefined && (exact ? have === want : have.toLowerCase() === want.toLowerCase());
  return op === "==" ? equal : !equal;
}

export function eligibleNodes(nodes: SwarmNode[], constraints: string[]): number {
  return nodes.filter(
    (n) =>
      n.Status?.State === "ready" &&
      (n.Spec?.Availability ?? "active") === "active" &&
      constraints.every((c) => matches(n, c)),
  ).length;
}
