// Host names in --traefik-api / --traefik-url that name a container: the Docker host routes
// to its containers' bridge IPs, so an API that is not published to the host at all
// (`http://traefik:8080`) is still reachable from the host at the container's IP. The
// Engine API says which IP; the runner's DNS is never asked about a container name.
import type Docker from "dockerode";
import type { Resolver } from "../host/hostio.js";

interface Listed {
  Names?: string[];
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** The address the Docker host reaches a listed container at; undefined when it has none. */
export function addressOf(c: Listed, preferNetwork?: string): string | undefined {
  if (c.HostConfig?.NetworkMode === "host") return "127.0.0.1";
  const nets = Object.entries(c.NetworkSettings?.Networks ?? {})
    .filter(([, n]) => n.IPAddress)
    .sort(([a], [b]) => (a === preferNetwork ? -1 : b === preferNetwork ? 1 : a.localeCompare(b)));
  return nets[0]?.[1].IPAddress;
}

/**
 * A compose service of `project` (its first running container), else a container of that
 * exact name, else the name itself (left to DNS where the connection is made). Answers are
 * kept for the process: Traefik is not recreated during a rollout.
 */
export function containerResolver(docker: Docker, project: string): Resolver {
  const known = new Map<string, Promise<string>>();
  const lookup = async (name: string): Promise<string> => {
    const byService = await docker.listContainers({
      filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${name}`] },
    });
    // A replica's server URL names it by short ID (Docker's DNS answers that on the network,
    // the runner's does not): warm-up and smoke requests reach it at its IP instead.
    const byId =
      byService.length || !/^[0-9a-f]{12}$/.test(name)
        ? []
        : await docker.listContainers({ filters: { id: [name] } });
    const byName = byService.length
      ? byService
      : byId.length
        ? byId
        : (await docker.listContainers({ filters: { name: [name] } })).filter((c) =>
            c.Names?.includes(`/${name}`),
          );
    const first = [...byName].sort((a, b) => (a.Names?.[0] ?? "").localeCompare(b.Names?.[0] ?? ""))[0];
    return (first && addressOf(first as Listed, `${project}_default`)) ?? name;
  };
  return (name) => {
    let got = known.get(name);
    if (!got) {
      got = lookup(name).catch(() => name);
      known.set(name, got);
    }
    return got;
  };
}
