// Pure: turns the inspect output of an existing service container into the create request
// for a sibling running another image. The central problem is that a container's Config
// already holds its image's defaults merged in (ENV, CMD, HEALTHCHECK, LABEL...). Copied
// verbatim, those OLD defaults would override the NEW image's, so a v2 image would run
// with v1's command and env. Only what the user set on top of the old image is carried over.
// The one ambiguity: a value the user set that equals the old image's default is
// indistinguishable from that default, so the new image's value wins for it.
import { isDeepStrictEqual } from "node:util";
import type { ImageInfo } from "../controller/model.js";
import type {
  ContainerConfig,
  ContainerInspect,
  CreateBody,
  EndpointSettings,
  HealthConfig,
  ImageInspect,
  PortSet,
} from "./types.js";

export const Label = {
  project: "com.docker.compose.project",
  service: "com.docker.compose.service",
  number: "com.docker.compose.container-number",
  oneoff: "com.docker.compose.oneoff",
  image: "com.docker.compose.image",
  // What `docker compose up` compares with the service's hash to decide on a recreate.
  configHash: "com.docker.compose.config-hash",
  // compose ≥ 2.2x marks a container that replaced another; a clone replaces nothing.
  replace: "com.docker.compose.replace",
  imageRef: "com.compose-roll.image-ref",
  // Which revision made the container, and what it replaced: lets `undo` and `status` work
  // from the running containers alone when the history store is damaged or gone.
  revision: "com.compose-roll.revision",
  previousRef: "com.compose-roll.previous-image-ref",
  previousId: "com.compose-roll.previous-image-id",
} as const;

export interface ClonePlan {
  name: string;
  body: CreateBody;
  /**
   * Networks to join after create and before start. Engines below API 1.44 take a single
   * endpoint at create time; connecting the rest afterwards works on every version.
   */
  connect: { network: string; endpoint: EndpointSettings }[];
}

export interface CloneInput {
  container: ContainerInspect;
  /** Inspect of the image `container` was created from (container.Image). */
  oldImage: ImageInspect;
  newImage: ImageInfo;
  number: number;
  /** Labels to stamp on top (compose-roll's revision bookkeeping). */
  extraLabels?: Record<string, string>;
}

export function serviceOf(container: ContainerInspect): { project: string; service: string } {
  const labels = container.Config.Labels ?? {};
  const project = labels[Label.project];
  const service = labels[Label.service];
  if (!project || !service) {
    throw new Error(`container ${containerName(container)} has no compose project/service labels`);
  }
  return { project, service };
}

export function containerName(c: { Name: string }): string {
  return c.Name.replace(/^\//, "");
}

export function planClone({ container, oldImage, newImage, number, extraLabels }: CloneInput): ClonePlan {
  const { project, service } = serviceOf(container);
  const name = `${project}-${service}-${number}`;
  const cfg = container.Config;
  const img: ContainerConfig = oldImage.Config ?? {};

  const body: CreateBody = {
    Image: newImage.ref,
    HostConfig: hostConfig(container.HostConfig),
    Labels: { ...labels(cfg.Labels, img.Labels, newImage, number), ...extraLabels },
  };
  // Docker sets Hostname to the container's short ID unless the user chose one.
  if (cfg.Hostname && cfg.Hostname !== container.Id.slice(0, 12)) body.Hostname = cfg.Hostname;
  for (const key of ["Domainname", "User", "WorkingDir", "StopSignal"] as const) {
    const v = cfg[key];
    if (v && v !== img[key]) body[key] = v;
  }
  for (const key of ["Cmd", "Shell"] as const) {
    const v = cfg[key];
    if (v?.length && !isDeepStrictEqual(v, img[key])) body[key] = v;
  }
  const ep = entrypoint(cfg.Entrypoint, img.Entrypoint);
  if (ep) body.Entrypoint = ep;
  const env = (cfg.Env ?? []).filter((e) => !(img.Env ?? []).includes(e));
  if (env.length) body.Env = env;
  const exposed = extraKeys(cfg.ExposedPorts, img.ExposedPorts);
  if (exposed) body.ExposedPorts = exposed;
  const volumes = extraKeys(cfg.Volumes, img.Volumes);
  if (volumes) body.Volumes = volumes;
  const health = healthcheck(cfg.Healthcheck, img.Healthcheck);
  if (health) body.Healthcheck = health;
  // Not image defaults: compose's stop_grace_period, tty, stdin_open.
  if (cfg.StopTimeout !== undefined && cfg.StopTimeout !== null) body.StopTimeout = cfg.StopTimeout;
  for (const key of ["Tty", "OpenStdin", "StdinOnce", "NetworkDisabled"] as const) {
    if (cfg[key]) body[key] = true;
  }

  const endpoints = networks(container, body.HostConfig, name);
  const [first, ...rest] = endpoints;
  if (first) body.NetworkingConfig = { EndpointsConfig: { [first.network]: first.endpoint } };
  return { name, body, connect: rest };
}

function entrypoint(own: string[] | null | undefined, image: string[] | null | undefined) {
  if (own?.length) return isDeepStrictEqual(own, image) ? undefined : own;
  // The user cleared the image's entrypoint (`entrypoint: ""`): [""] is Docker's "reset".
  return image?.length ? [""] : undefined;
}

/** Labels the user set (not LABELs of the old image), re-stamped as member `number` of the service. */
function labels(
  own: Record<string, string> | null | undefined,
  image: Record<string, string> | null | undefined,
  newImage: ImageInfo,
  number: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(own ?? {})) {
    if (image?.[k] !== v) out[k] = v;
  }
  delete out[Label.replace];
  out[Label.number] = String(number);
  out[Label.oneoff] = "False";
  // compose compares this with the local image ID to decide whether to recreate.
  out[Label.image] = newImage.id;
  out[Label.imageRef] = newImage.ref;
  return out;
}

function extraKeys(own: PortSet | null | undefined, image: PortSet | null | undefined): PortSet | undefined {
  const keys = Object.keys(own ?? {}).filter((k) => !(k in (image ?? {})));
  return keys.length ? Object.fromEntries(keys.map((k) => [k, {}])) : undefined;
}

/**
 * Docker merges a container's healthcheck field by field with the image's (empty Test or
 * zero durations inherit), so inspect shows the merged result. Keeping only fields that
 * differ from the old image lets `healthcheck: {interval: 5s}` keep the new image's test.
 */
function healthcheck(
  own: HealthConfig | null | undefined,
  image: HealthConfig | null | undefined,
): HealthConfig | undefined {
  if (!own || isDeepStrictEqual(own, image)) return undefined;
  if (!image?.Test?.length) return own;
  if (own.Test?.[0] === "NONE") return { Test: ["NONE"] };
  const out: HealthConfig = {};
  if (!isDeepStrictEqual(own.Test, image.Test)) out.Test = own.Test ?? [];
  for (const key of ["Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"] as const) {
    const v = own[key];
    if (v && v !== image[key]) out[key] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

// Owned by the daemon or tied to the old container; sending them back would pin stale values.
const DROPPED_HOST_KEYS = ["ContainerIDFile", "MaskedPaths", "ReadonlyPaths"];

function hostConfig(old: ContainerInspect["HostConfig"]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...old };
  for (const k of DROPPED_HOST_KEYS) delete out[k];
  // Inspect shows links as "/target:/this-container/alias"; create wants "target:alias".
  if (old.Links?.length) {
    out.Links = old.Links.map((l) => {
      const [target = "", alias = ""] = l.split(":");
      return `${target.replace(/^\//, "")}:${alias.split("/").pop()}`;
    });
  }
  return out;
}

// Network modes with no endpoints of their own to recreate (host, none, container:<id>).
function sharesNamespace(mode: string | undefined): boolean {
  return mode === "host" || mode === "none" || (mode?.startsWith("container:") ?? false);
}

function networks(
  container: ContainerInspect,
  host: Record<string, unknown>,
  newName: string,
): { network: string; endpoint: EndpointSettings }[] {
  const mode = container.HostConfig.NetworkMode;
  if (sharesNamespace(mode)) return [];
  const all = container.NetworkSettings.Networks ?? {};
  const oldName = containerName(container);
  const shortId = container.Id.slice(0, 12);
  const names = Object.keys(all).sort();
  // The network named by NetworkMode must be the one given at create time, or Docker refuses.
  const primary = mode && mode in all ? mode : names[0];
  if (primary && mode !== primary && mode !== "default" && mode !== "bridge") host.NetworkMode = primary;
  const ordered = primary ? [primary, ...names.filter((n) => n !== primary)] : [];
  return ordered.map((network) => {
    const old = all[network] ?? {};
    const endpoint: EndpointSettings = {};
    // The default bridge rejects network-scoped aliases outright.
    if (network !== "bridge") {
      const kept = (old.Aliases ?? []).filter((a) => a !== oldName && a !== shortId && a !== newName);
      endpoint.Aliases = [newName, ...kept];
    }
    if (old.Links?.length) endpoint.Links = old.Links;
    if (old.DriverOpts && Object.keys(old.DriverOpts).length) endpoint.DriverOpts = old.DriverOpts;
    // IPAMConfig (static IPs), IPs, MAC and EndpointID belong to the old container: not copied.
    return { network, endpoint };
  });
}
