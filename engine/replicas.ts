// The service's containers as Replica objects. Listing alone is not enough: only inspect
// has the exit code and health, so each listed container is inspected.
import type Docker from "dockerode";
import { RefusedError } from "../controller/errors.js";
import type { Health, Replica } from "../controller/model.js";
import type { ServiceRef } from "../controller/ports.js";
import { call, engineError, statusOf } from "./docker.js";
import { containerName, Label } from "./template.js";
import { type ContainerInspect, type ImageInspect, tcpPorts } from "./types.js";

export interface AddressOptions {
  /** Network Traefik reaches the replicas on; default: the container's only network. */
  network?: string;
  /** Container port Traefik targets; default: the image's single exposed tcp port. */
  port?: number;
  /**
   * Per-image port (image ID → port), winning over `port`: `--port` names the NEW image's
   * port, while the old containers stay reachable where Traefik already routes them.
   */
  portByImage?: Record<string, number>;
  /**
   * "ip": always the IP on the network, the address Traefik's Docker provider lists (label
   * mode compares URLs with Traefik's API, so it must be exactly that). Unset: file mode's
   * choice, a name Docker's DNS answers (see urlOf).
   */
  address?: "ip";
}

const HEALTH: Record<string, Health> = { starting: "starting", healthy: "healthy", unhealthy: "unhealthy" };

/** Pure: one inspected container (and its image's exposed tcp ports) → Replica. */
export function toReplica(
  c: ContainerInspect,
  imagePorts: number[] | undefined,
  opts: AddressOptions,
): Replica {
  const labels = c.Config.Labels ?? {};
  const name = containerName(c);
  const number = Number(labels[Label.number]);
  if (!Number.isInteger(number)) {
    // Found while observing, before any change (mid-rollout, the loop turns it into a restore).
    throw new RefusedError(
      `container ${name} has ${Label.number}=${labels[Label.number] ?? "(none)"}, not a number`,
      `remove or relabel ${name}; compose-roll only manages containers compose numbered`,
    );
  }
  const running = c.State.Running && !c.State.Restarting;
  const replica: Replica = {
    id: c.Id,
    name,
    number,
    imageId: c.Image,
    imageRef: labels[Label.imageRef] ?? c.Config.Image ?? c.Image,
    running,
    health: HEALTH[c.State.Health?.Status ?? ""] ?? "none",
  };
  if (!running) replica.exitCode = c.State.ExitCode;
  const hash = labels[Label.configHash];
  if (hash) replica.configHash = hash;
  const revision = Number(labels[Label.revision]);
  if (Number.isInteger(revision) && revision > 0) replica.revision = revision;
  const [prevRef, prevId] = [labels[Label.previousRef], labels[Label.previousId]];
  if (prevRef && prevId) replica.previousImage = { ref: prevRef, id: prevId };
  const traefik = Object.entries(labels).filter(([k]) => k.startsWith("traefik."));
  if (traefik.length) replica.traefikLabels = Object.fromEntries(traefik);
  const url = urlOf(c, imagePorts, opts);
  if (url) replica.url = url;
  return replica;
}

/**
 * Networks whose members Docker's embedded DNS does not resolve by name: the default
 * `bridge` (legacy links only) and the host's own stack. Everywhere else (compose's
 * networks, any user-defined one) a container's name resolves to its current address.
 */
const NO_DNS = new Set(["bridge", "host", "none"]);
/** A name Traefik's resolver takes as one DNS label (no dots: search domains would apply). */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/i;

/**
 * The URL Traefik must use for the container: `http://<container name>:<port>` on a
 * user-defined network, so the file stays right when the container gets a new address (a
 * daemon restart, a host reboot, containers started in another order): Docker's DNS
 * answers with the current one and Traefik resolves on every new connection. An IP could
 * even point at another container that took it over. Only where the name does not resolve
 * (the default `bridge` network, a name Docker's DNS does not list for the endpoint or that
 * is not one DNS label) the IP, as before.
 * Undefined when the container is not running (neither its name nor its IP answers), or
 * when the network or port is ambiguous, or the container is not on that network.
 */
export function urlOf(c: ContainerInspect, imagePorts: number[] | undefined, opts: AddressOptions) {
  if (!c.State.Running || c.State.Restarting) return undefined;
  const nets = c.NetworkSettings.Networks ?? {};
  const names = Object.keys(nets);
  const network = opts.network ?? (names.length === 1 ? names[0] : undefined);
  const endpoint = network ? nets[network] : undefined;
  const ports = imagePorts ?? tcpPorts(c.Config.ExposedPorts);
  const port = opts.portByImage?.[c.Image] ?? opts.port ?? (ports.length === 1 ? ports[0] : undefined);
  if (!network || !endpoint || !port) return undefined;
  const name = containerName(c);
  // Docker's DNS answers a name it lists for the endpoint: compose adds the container name
  // to its aliases (so does compose-roll's clone); a generated name (`docker run` without
  // --name) is not resolvable at all.
  const dnsNames = [...(endpoint.Aliases ?? []), ...(endpoint.DNSNames ?? [])];
  // The short container ID first: Docker lists it for every endpoint on a user-defined
  // network, and unlike a name it is never reused. Traefik pools keep-alive connections by
  // host:port, so a name reused by a later container (compose-roll reuses the lowest free
  // number) could be sent down a pooled connection to a container that died without
  // closing it (`docker rm -f`), and hang until the client gives up.
  const id = c.Id.slice(0, 12);
  // Label mode: Traefik's Docker provider addresses containers by IP; match it exactly.
  const dns = opts.address !== "ip" && !NO_DNS.has(network);
  if (dns && dnsNames.includes(id)) return `http://${id}:${port}`;
  if (dns && DNS_LABEL.test(name) && dnsNames.includes(name)) return `http://${name}:${port}`;
  const ip = endpoint.IPAddress;
  if (!ip) return undefined;
  return `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
}

export function serviceFilters(svc: ServiceRef): Record<string, string[]> {
  return {
    label: [`${Label.project}=${svc.project}`, `${Label.service}=${svc.service}`, `${Label.oneoff}=False`],
  };
}

export async function listReplicas(
  docker: Docker,
  svc: ServiceRef,
  opts: AddressOptions,
): Promise<Replica[]> {
  const what = `${svc.project}/${svc.service}`;
  const listed = await call(`list the containers of ${what}`, () =>
    docker.listContainers({ all: true, filters: serviceFilters(svc) }),
  );
  const imagePorts = new Map<string, Promise<number[] | undefined>>();
  const portsOf = (imageId: string) => {
    let p = imagePorts.get(imageId);
    if (!p) {
      p = inspectImage(docker, imageId).then((img) => (img ? tcpPorts(img.Config?.ExposedPorts) : undefined));
      imagePorts.set(imageId, p);
    }
    return p;
  };
  const replicas = await Promise.all(
    listed.map(async (summary) => {
      const c = await inspectContainer(docker, summary.Id);
      // Removed between list and inspect: it is no longer part of the service.
      if (!c) return undefined;
      return toReplica(c, await portsOf(c.Image), opts);
    }),
  );
  return replicas.filter((r): r is Replica => r !== undefined).sort((a, b) => a.number - b.number);
}

export async function inspectContainer(docker: Docker, id: string): Promise<ContainerInspect | undefined> {
  try {
    return (await docker.getContainer(id).inspect()) as unknown as ContainerInspect;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw engineError(err, `inspect container ${id.slice(0, 12)}`);
  }
}

export async function inspectImage(docker: Docker, ref: string): Promise<ImageInspect | undefined> {
  try {
    return (await docker.getImage(ref).inspect()) as unknown as ImageInspect;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw engineError(err, `inspect image ${ref}`);
  }
}

/** One running container of the service, inspected: new ones are clones (same labels, same healthcheck). */
export async function firstReplica(
  docker: Docker,
  svc: { project: string; service: string },
): Promise<ContainerInspect | undefined> {
  const listed = await docker.listContainers({ filters: serviceFilters(svc) }).catch(() => []);
  const first = listed.sort((a, b) => a.Names[0]?.localeCompare(b.Names[0] ?? "") ?? 0)[0];
  return first && (await inspectContainer(docker, first.Id));
}
