// Connection to the Docker engine and the translation of its failures into EngineError.
// Which engine, and through what transport, is decided in host/host.ts and host/dial.ts
// (as the docker CLI decides it). docker-modem does not negotiate an API version: without one it calls unversioned paths,
// which the daemon serves at ITS newest version, so response shapes would change under us
// with every Docker upgrade. We pin min(ours, server's) once, after GET /version.
import type Docker from "dockerode";
import { EngineError } from "../controller/errors.js";
import { type Dialed, dial, transportHint } from "../host/dial.js";
import { describe, type ResolvedHost, resolveHost } from "../host/host.js";
import type { SshTransport } from "../host/ssh.js";
import Dockerode from "./dockerode.js";
import { guard } from "./guard.js";

/** Newest API this adapter was written against (Docker 27). Docker 29 accepts ≥ 1.44. */
export const MAX_API_VERSION = "1.47";
/** Oldest API it has been run against (Debian's Docker 20.10). */
export const MIN_API_VERSION = "1.41";

export interface Connection {
  docker: Docker;
  /** The negotiated API version, e.g. "1.41". */
  apiVersion: string;
  serverVersion: string;
  /** The engine's address, for messages ("ssh://root@h:22", "unix:///var/run/docker.sock"). */
  where: string;
  /** Closes what the transport holds open (an ssh connection). */
  close(): void;
  /** Set in a docker CLI subprocess's environment to reach this same engine (host/host.ts cliEnv). */
  cliEnv: Record<string, string | undefined>;
  /** ssh:// only: the one connection, for the Docker host's files and network (cli/context.ts). */
  ssh?: SshTransport;
}

/** Compares "1.41" and "1.44" numerically (string comparison gets "1.9" vs "1.10" wrong). */
export function compareApi(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split(".").map(Number);
  const [bmaj = 0, bmin = 0] = b.split(".").map(Number);
  return amaj - bmaj || amin - bmin;
}

export function negotiate(server: { ApiVersion?: string; MinAPIVersion?: string }): string {
  const serverMax = server.ApiVersion;
  if (!serverMax) {
    throw new EngineError(
      "the Docker engine did not report its API version",
      "check that DOCKER_HOST points at a Docker Engine, not another service",
    );
  }
  const chosen = compareApi(serverMax, MAX_API_VERSION) < 0 ? serverMax : MAX_API_VERSION;
  if (compareApi(chosen, MIN_API_VERSION) < 0) {
    throw new EngineError(
      `the Docker engine speaks API ${serverMax}; compose-roll needs ${MIN_API_VERSION} or newer`,
      "upgrade Docker to 20.10 or newer",
    );
  }
  if (server.MinAPIVersion && compareApi(chosen, server.MinAPIVersion) < 0) {
    throw new EngineError(
      `the Docker engine requires API ${server.MinAPIVersion}+; compose-roll speaks up to ${MAX_API_VERSION}`,
      "upgrade compose-roll",
    );
  }
  return chosen;
}

/**
 * Connects as the docker CLI would (host/host.ts: -H, DOCKER_HOST, contexts), or with
 * explicit dockerode options, then pins the negotiated API version.
 */
export async function connect(options?: Docker.DockerOptions): Promise<Connection> {
  if (!options) return connectTo(resolveHost({}, process.env));
  return open(
    options,
    options.socketPath ? `unix://${options.socketPath}` : String(options.host ?? "Docker"),
  );
}

/** Connects to a resolved host through its transport (host/dial.ts). */
export async function connectTo(target: ResolvedHost): Promise<Connection> {
  const dialed = dial(target.endpoint, process.env);
  const conn = await open(dialed.options, describe(target.endpoint), dialed);
  // Over ssh, docker CLI subprocesses go through this connection too (host/ssh.ts listen()).
  if (dialed.localSocket) {
    conn.cliEnv = { DOCKER_HOST: `unix://${await dialed.localSocket()}`, DOCKER_CONTEXT: undefined };
  } else conn.cliEnv = target.cliEnv;
  if (dialed.ssh) conn.ssh = dialed.ssh;
  return conn;
}

async function open(options: Docker.DockerOptions, where: string, dialed?: Dialed): Promise<Connection> {
  const close = () => dialed?.close();
  let docker: Docker;
  try {
    docker = new Dockerode(options);
  } catch (err) {
    throw engineError(err, "read DOCKER_HOST");
  }
  guard(docker, close);
  let v: { ApiVersion?: string; MinAPIVersion?: string; Version?: string };
  try {
    v = await docker.version();
  } catch (err) {
    close();
    throw engineError(err, `reach the Docker engine at ${where}`, transportHint(err, where));
  }
  const apiVersion = negotiate(v);
  // docker-modem prefixes every path with "/" + version.
  (docker.modem as { version?: string }).version = `v${apiVersion}`;
  return { docker, apiVersion, serverVersion: v.Version ?? "unknown", where, close, cliEnv: {} };
}

interface DockerishError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
}

export function statusOf(err: unknown): number | undefined {
  return (err as DockerishError | undefined)?.statusCode;
}

/** The daemon's own message, on one line, without docker-modem's "(HTTP code N) reason -" prefix. */
export function dockerMessage(err: unknown): string {
  const e = (err ?? {}) as DockerishError;
  const raw = e.json?.message ?? e.message ?? String(err);
  return raw
    .replace(/^\(HTTP code \d+\)[^-]*- /, "")
    .replace(/\s+/g, " ")
    .trim();
}

function where(): string {
  return process.env.DOCKER_HOST ?? "the local Docker socket";
}

/** One-line hint for the failures users can act on. */
function hintFor(err: unknown): string {
  const e = (err ?? {}) as DockerishError;
  switch (e.code) {
    case "ENOENT":
    case "ECONNREFUSED":
      return `start Docker, or set DOCKER_HOST (unix://, tcp://, ssh://) to where it runs; tried ${where()}`;
    case "EACCES":
      return "add your user to the docker group (or run as root) to use the Docker socket";
    case "ENOTFOUND":
    case "ETIMEDOUT":
    case "ECONNRESET":
      return `check the network path to ${where()}`;
  }
  switch (e.statusCode) {
    case 400:
      return "the engine rejected the request; check `docker version` (this client negotiates the API)";
    case 404:
      return "it was removed meanwhile; check `docker ps -a` or `docker images`, then retry";
    case 409:
      return "something else holds that name or state; inspect with `docker ps -a` and retry";
    case 500:
      return "see the Docker daemon's log (journalctl -u docker) for the cause";
  }
  return "check `docker info` and retry";
}

/** "Docker: could not <what>: <daemon message>", with a hint on what to do. */
export function engineError(err: unknown, what: string, hint?: string): EngineError {
  if (err instanceof EngineError) return err;
  const e = new EngineError(`Docker: could not ${what}: ${dockerMessage(err)}`, hint ?? hintFor(err));
  (e as { cause?: unknown }).cause = err;
  return e;
}

/** Runs a Docker call, wrapping any failure as an EngineError about `what`. */
export async function call<T>(what: string, fn: () => Promise<T>, hint?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw engineError(err, what, hint);
  }
}

/** The Docker host's clock now, in ms. */
export async function hostNow(docker: Docker): Promise<number> {
  const info = (await call("read the Docker host's clock", () => docker.info())) as { SystemTime?: string };
  const t = Date.parse(info.SystemTime ?? "");
  if (Number.isNaN(t)) {
    throw new EngineError(
      `Docker: could not read the Docker host's clock (GET /info SystemTime is "${info.SystemTime}")`,
      "check that the engine answers `docker info`; a lock's lease cannot be judged without it",
    );
  }
  return t;
}

/** Whether the Docker host has any container (running or not) of compose project `project`. */
export async function hasProjectContainers(docker: Docker, project: string): Promise<boolean> {
  const containers = await call(`list the containers of project ${project}`, () =>
    docker.listContainers({
      all: true,
      limit: 1,
      filters: { label: [`com.docker.compose.project=${project}`] },
    }),
  );
  return containers.length > 0;
}
