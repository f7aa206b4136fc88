// The slice of Docker's inspect JSON the engine adapter reads. Written by hand because
// @types/dockerode (v4, for dockerode 5) marks fields as always present that the engine
// returns as null (Env, Cmd, Labels, ExposedPorts...), and strict mode should see that.
import type { ImageInfo } from "../controller/model.js";
import type { ReplicaTemplate } from "../controller/ports.js";

export type PortSet = Record<string, Record<string, never>>;

export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** Container.Config and Image.Config share Docker's container.Config type. */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: PortSet | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: PortSet | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[] | null;
}

export interface EndpointSettings {
  IPAMConfig?: Record<string, unknown> | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  DNSNames?: string[] | null;
}

export interface HealthLogEntry {
  Start?: string;
  End?: string;
  ExitCode?: number;
  Output?: string;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  State: {
    Status: string;
    Running: boolean;
    Paused?: boolean;
    Restarting?: boolean;
    OOMKilled?: boolean;
    Dead?: boolean;
    ExitCode: number;
    Error?: string;
    Health?: { Status: string; FailingStreak?: number; Log?: HealthLogEntry[] | null } | null;
  };
  Config: ContainerConfig;
  /** Passed through to create nearly verbatim; only the keys the adapter reasons about are typed. */
  HostConfig: { NetworkMode?: string; Links?: string[] | null; [key: string]: unknown };
  NetworkSettings: { Networks?: Record<string, EndpointSettings> | null };
}

export interface ImageInspect {
  Id: string;
  RepoTags?: string[] | null;
  Config?: ContainerConfig | null;
}

/** Body of POST /containers/create. */
export interface CreateBody extends ContainerConfig {
  Image: string;
  HostConfig: Record<string, unknown>;
  NetworkingConfig?: { EndpointsConfig: Record<string, EndpointSettings> };
}

/** What DockerEngine.template() captures; the controller only sees the ReplicaTemplate part. */
export interface DockerReplicaTemplate extends ReplicaTemplate {
  readonly container: ContainerInspect;
  readonly image: ImageInspect;
}

export function isDockerTemplate(t: ReplicaTemplate): t is DockerReplicaTemplate {
  const d = t as Partial<DockerReplicaTemplate>;
  return t.kind === "replica-template" && d.container !== undefined && d.image !== undefined;
}

/** Container ports an image EXPOSEs over tcp ("8000/tcp" → 8000; a bare "8000" means tcp too). */
export function tcpPorts(ports: PortSet | null | undefined): number[] {
  const out: number[] = [];
  for (const key of Object.keys(ports ?? {})) {
    const [port, proto = "tcp"] = key.split("/");
    const n = Number(port);
    if (proto === "tcp" && Number.isInteger(n) && n > 0) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

export function imageInfo(ref: string, image: ImageInspect): ImageInfo {
  return { ref, id: image.Id, exposedPorts: tcpPorts(image.Config?.ExposedPorts) };
}
