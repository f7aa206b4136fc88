// The Docker CLI's context store, read the way `docker context use` leaves it: the current
// context in $DOCKER_CONFIG/config.json, each context's endpoint in
// contexts/meta/<sha256(name)>/meta.json and its TLS material in contexts/tls/<sha256(name)>/docker/.
// docker-modem knows nothing of contexts, so without this a runner set up with
// `docker context use prod` would silently talk to the local socket.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { RefusedError } from "../controller/errors.js";

/** `$DOCKER_CONFIG`, else `~/.docker`, as the docker CLI uses it. */
export function configDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
}

/** The context the CLI's config file names (`docker context use`), if any. */
export function currentContext(dir: string): string | undefined {
  const file = join(dir, "config.json");
  if (!existsSync(file)) return undefined;
  let parsed: { currentContext?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as { currentContext?: unknown };
  } catch (err) {
    throw new RefusedError(
      `cannot read the Docker CLI config ${file}: ${(err as Error).message}`,
      "fix or remove that file (the docker CLI would refuse it too)",
    );
  }
  return typeof parsed.currentContext === "string" && parsed.currentContext
    ? parsed.currentContext
    : undefined;
}

/** A context's directory name in the store. */
export function contextId(name: string): string {
  return createHash("sha256").update(name).digest("hex");
}

export interface ContextEndpoint {
  name: string;
  host: string;
  skipTLSVerify: boolean;
  /** Paths of the TLS files stored with the context (only those present). */
  tls: { ca?: string; cert?: string; key?: string };
}

interface Meta {
  Name?: unknown;
  Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } };
}

/** The docker endpoint of context `name`; refused when the context does not exist or has none. */
export function readContext(dir: string, name: string): ContextEndpoint {
  const id = contextId(name);
  const metaFile = join(dir, "contexts", "meta", id, "meta.json");
  if (!existsSync(metaFile)) {
    throw new RefusedError(
      `Docker context "${name}" does not exist (no ${metaFile})`,
      "list them with `docker context ls`, or pick another with --context / DOCKER_CONTEXT",
    );
  }
  let meta: Meta;
  try {
    meta = JSON.parse(readFileSync(metaFile, "utf8")) as Meta;
  } catch (err) {
    throw new RefusedError(
      `Docker context "${name}" is damaged: ${metaFile}: ${(err as Error).message}`,
      `recreate it: docker context rm ${name} && docker context create ${name} --docker host=...`,
    );
  }
  const docker = meta.Endpoints?.docker;
  if (typeof docker?.Host !== "string" || !docker.Host) {
    throw new RefusedError(
      `Docker context "${name}" has no docker endpoint`,
      `set one: docker context update ${name} --docker host=ssh://user@host`,
    );
  }
  const tlsDir = join(dir, "contexts", "tls", id, "docker");
  const tls: ContextEndpoint["tls"] = {};
  for (const k of ["ca", "cert", "key"] as const) {
    const f = join(tlsDir, `${k}.pem`);
    if (existsSync(f)) tls[k] = f;
  }
  return { name, host: docker.Host, skipTLSVerify: docker.SkipTLSVerify === true, tls };
}
