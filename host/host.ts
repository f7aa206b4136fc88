// Which Docker engine to talk to, decided exactly as the docker CLI (and so `docker compose`)
// decides it (docker/cli cli/command/cli.go resolveContextName):
//   --context (flag) > -H/--host > DOCKER_HOST > DOCKER_CONTEXT > currentContext in config.json > default socket
// -H and --context together are refused, as the CLI refuses them. The context "default" means
// DOCKER_HOST or the local socket. The result also says how to point a docker CLI subprocess
// at the same engine, so `docker compose config` never reads another host's view.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { RefusedError } from "../controller/errors.js";
import { configDir, currentContext, readContext } from "./contexts.js";

export const DEFAULT_SOCKET = "/var/run/docker.sock";

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export type Endpoint =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number; tls?: TlsFiles & { verify: boolean } }
  /** defaultPort: the URL gave none (so ~/.ssh/config's Port may apply). */
  | { kind: "ssh"; user?: string; host: string; port: number; defaultPort?: true };

export interface ResolvedHost {
  endpoint: Endpoint;
  /** The engine's address as the user wrote it (or the socket), for messages. */
  url: string;
  /** Where the choice came from: "-H", "DOCKER_HOST", `context "prod" (DOCKER_CONTEXT)`, "default". */
  source: string;
  /** Set (or unset: undefined) in a docker CLI subprocess's environment to reach the same engine. */
  cliEnv: Record<string, string | undefined>;
}

export interface HostFlags {
  host?: string;
  context?: string;
}

export function resolveHost(flags: HostFlags, env: NodeJS.ProcessEnv): ResolvedHost {
  if (flags.host && flags.context) {
    throw new RefusedError(
      "both -H/--host and --context were given",
      "give one of them: -H names the engine, --context names a `docker context`",
    );
  }
  const dir = configDir(env);
  const fromContext = (name: string, how: string): ResolvedHost => {
    if (name === "default") return fromHost(env.DOCKER_HOST, "default", env, dir, name);
    const ctx = readContext(dir, name);
    const tls = ctx.tls.ca || ctx.tls.cert ? { ...ctx.tls, verify: !ctx.skipTLSVerify } : undefined;
    return {
      endpoint: parseHost(ctx.host, tls, `context "${name}"`),
      url: ctx.host,
      source: `context "${name}" (${how})`,
      cliEnv: { DOCKER_CONTEXT: name, DOCKER_HOST: undefined },
    };
  };
  if (flags.context) return fromContext(flags.context, "--context");
  if (flags.host) return fromHost(flags.host, "-H", env, dir);
  if (env.DOCKER_HOST) return fromHost(env.DOCKER_HOST, "DOCKER_HOST", env, dir);
  if (env.DOCKER_CONTEXT) return fromContext(env.DOCKER_CONTEXT, "DOCKER_CONTEXT");
  const current = currentContext(dir);
  if (current) return fromContext(current, `currentContext in ${join(dir, "config.json")}`);
  return fromHost(undefined, "default", env, dir);
}

/** -H / DOCKER_HOST (or nothing: the socket), with TLS from DOCKER_TLS_VERIFY / DOCKER_CERT_PATH. */
function fromHost(
  host: string | undefined,
  source: string,
  env: NodeJS.ProcessEnv,
  dir: string,
  contextName?: string,
): ResolvedHost {
  const url = host || `unix://${DEFAULT_SOCKET}`;
  const endpoint = parseHost(url, tlsFromEnv(env, dir), source);
  return {
    endpoint,
    url,
    source: contextName ? `context "default"` : source,
    // An explicit host wins in the subprocess too; DOCKER_CONTEXT there could otherwise disagree.
    cliEnv: host
      ? { DOCKER_HOST: host, DOCKER_CONTEXT: undefined }
      : { DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined },
  };
}

/**
 * TLS as the CLI turns it on: DOCKER_TLS_VERIFY (any non-empty value, as in the CLI) or
 * DOCKER_TLS. Unlike the CLI, DOCKER_TLS alone still verifies: compose-roll never sends its
 * API calls to a host it has not authenticated. Files come from DOCKER_CERT_PATH, else the
 * config directory; the CLI skips files that are absent, and so do we, except that a
 * DOCKER_CERT_PATH given explicitly must hold ca.pem.
 */
export function tlsFromEnv(
  env: NodeJS.ProcessEnv,
  dir: string,
): (TlsFiles & { verify: boolean }) | undefined {
  if (!env.DOCKER_TLS_VERIFY && !env.DOCKER_TLS) return undefined;
  const certDir = env.DOCKER_CERT_PATH || dir;
  const files: TlsFiles = {};
  for (const k of ["ca", "cert", "key"] as const) {
    const f = join(certDir, `${k}.pem`);
    if (existsSync(f)) files[k] = f;
  }
  if (env.DOCKER_CERT_PATH && !files.ca) {
    throw new RefusedError(
      `DOCKER_CERT_PATH=${env.DOCKER_CERT_PATH} holds no ca.pem`,
      "put the CA that signed the engine's certificate there as ca.pem (with cert.pem and key.pem for the client)",
    );
  }
  if (Boolean(files.cert) !== Boolean(files.key)) {
    throw new RefusedError(
      `${certDir} has ${files.cert ? "cert.pem but no key.pem" : "key.pem but no cert.pem"}`,
      "the client certificate needs both files, or neither",
    );
  }
  return { ...files, verify: true };
}

/** unix:///path, tcp://host[:port], ssh://[user@]host[:port], or host:port (tcp). */
export function parseHost(
  url: string,
  tls: (TlsFiles & { verify: boolean }) | undefined,
  from: string,
): Endpoint {
  const bad = (why: string) =>
    new RefusedError(
      `the Docker host ${url} (from ${from}) ${why}`,
      "use unix:///var/run/docker.sock, tcp://host:2376 (with DOCKER_TLS_VERIFY=1) or ssh://user@host",
    );
  if (url.startsWith("unix://")) return { kind: "unix", socketPath: url.slice(7) || DEFAULT_SOCKET };
  const withScheme = url.includes("://") ? url : `tcp://${url}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw bad("is not a URL");
  }
  const known = ["tcp:", "http:", "https:", "ssh:"];
  if (!known.includes(u.protocol)) throw bad(`uses ${u.protocol}//, which compose-roll does not speak`);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw bad("names no host");
  if (u.protocol === "tcp:" || u.protocol === "http:" || u.protocol === "https:") {
    const secure = tls ?? (u.protocol === "https:" ? { verify: true } : undefined);
    const port = u.port ? Number(u.port) : secure ? 2376 : 2375;
    return secure ? { kind: "tcp", host, port, tls: secure } : { kind: "tcp", host, port };
  }
  if (u.protocol === "ssh:") {
    if (u.pathname && u.pathname !== "/") throw bad("has a path; ssh:// takes only user@host:port");
    const user = decodeURIComponent(u.username);
    return {
      kind: "ssh",
      host,
      ...(u.port ? { port: Number(u.port) } : { port: 22, defaultPort: true }),
      ...(user ? { user } : {}),
    };
  }
  throw bad(`uses ${u.protocol}//, which compose-roll does not speak`);
}

/** "ssh://root@h:2222", "tcp://h:2376 (TLS)", "unix:///var/run/docker.sock": for messages and logs. */
export function describe(e: Endpoint): string {
  switch (e.kind) {
    case "unix":
      return `unix://${e.socketPath}`;
    case "tcp":
      return `tcp://${e.host}:${e.port}${e.tls ? (e.tls.verify ? " (TLS)" : " (TLS, not verified)") : ""}`;
    case "ssh":
      return `ssh://${e.user ? `${e.user}@` : ""}${e.host}:${e.port}`;
  }
}

/**
 * A line to warn with before using `e`, or undefined. Plain tcp:// to another machine sends
 * every API call in the clear, registry credentials (X-Registry-Auth) and environments
 * included, and anyone on the path can drive the engine: allowed, as by the docker CLI, but
 * never silently. Loopback stays quiet (a tunnel or a test engine).
 */
export function insecureWarning(e: Endpoint): string | undefined {
  if (e.kind !== "tcp" || e.tls) return undefined;
  if (/^(localhost|127\.\d+\.\d+\.\d+|::1)$/.test(e.host)) return undefined;
  return `${describe(e)} has no TLS: API calls, registry credentials and container environments cross the network in the clear, and anyone on the path can drive the engine; use DOCKER_TLS_VERIFY=1 with certificates, or ssh://`;
}
