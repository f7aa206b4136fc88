// Registry credentials from where the docker CLI keeps them, so `compose-roll --image`
// pulls with the same identity `docker pull` / `docker compose pull` would use: the
// config file ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), its `auths`,
// and the credential helpers it names (`credHelpers` per registry, else `credsStore`).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { RefusedError } from "../controller/errors.js";

/** Docker Hub's canonical host, and the key the docker CLI files its credentials under. */
export const DOCKER_HUB = "docker.io";
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

/** What the Engine's X-Registry-Auth header carries (`types.AuthConfig`). */
export interface AuthConfig {
  serveraddress: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface ConfigEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export interface DockerConfig {
  auths?: Record<string, ConfigEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/**
 * The registry host of an image reference, as docker's reference parser splits it
 * (distribution/reference `splitDockerDomain`): the first path component is a host only
 * when the reference has a `/` after it and the component has a `.` or `:`, is
 * `localhost`, or has upper-case letters; everything else lives on Docker Hub.
 */
export function registryOf(ref: string): string {
  const name = ref.replace(/@.*$/, "");
  const slash = name.indexOf("/");
  if (slash === -1) return DOCKER_HUB;
  const first = name.slice(0, slash);
  const isHost = /[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first;
  if (!isHost) return DOCKER_HUB;
  return first === "index.docker.io" ? DOCKER_HUB : first;
}

/** The key docker files a registry's credentials under, and the server URL helpers are asked for. */
export function authKeyOf(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : registry;
}

/** `https://host:5000/v1/` → `host:5000`, like the CLI's ConvertToHostname for old-style keys. */
function hostOfKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? key;
  return host === "index.docker.io" || host === "registry-1.docker.io" ? DOCKER_HUB : host;
}

/** The config file the docker CLI reads, given the environment. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG
    ? join(env.DOCKER_CONFIG, "config.json")
    : join(homedir(), ".docker", "config.json");
}

/** The config file, or an empty one when there is none (anonymous pulls). */
export function readConfig(path: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new RefusedError(
      `cannot read the docker config ${path}: ${(err as Error).message}`,
      "fix its permissions, or point DOCKER_CONFIG at a readable directory",
    );
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as DockerConfig) : {};
  } catch {
    throw new RefusedError(
      `the docker config ${path} is not valid JSON`,
      "fix or remove it (`docker login` rewrites it)",
    );
  }
}

/** An `auths` entry as an AuthConfig; `auth` is base64 of "user:password". */
function fromEntry(entry: ConfigEntry, serveraddress: string, path: string): AuthConfig | undefined {
  const out: AuthConfig = { serveraddress };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 1) {
      throw new RefusedError(
        `the docker config ${path} has a malformed "auth" for ${serveraddress} (not base64 of user:password)`,
        `log in again: docker login ${serveraddress === DOCKER_HUB_AUTH_KEY ? "" : serveraddress}`.trim(),
      );
    }
    out.username = decoded.slice(0, colon);
    out.password = decoded.slice(colon + 1);
  } else {
    if (entry.username) out.username = entry.username;
    if (entry.password) out.password = entry.password;
  }
  if (entry.identitytoken) out.identitytoken = entry.identitytoken;
  return out.username || out.identitytoken ? out : undefined;
}

/** Runs `docker-credential-<name> get` with the server URL on stdin; resolves its stdout or fails. */
export type HelperRunner = (
  program: string,
  serverUrl: string,
) => Promise<{ code: number | null; stdout: string; stderr: string }>;

/**
 * The most of a helper's stdout and of its stderr read: an answer is a few hundred bytes of
 * JSON. Past it, stderr is cut (only its start is ever shown) and a flooding stdout stops the
 * helper and fails the lookup.
 */
export const HELPER_OUTPUT_CAP = 64 * 1024;

/** A credential helper's name: docker-credential-<name> is looked up on PATH, never a path. */
const HELPER_NAME = /^[a-z0-9_-]+$/;

export const runHelper: HelperRunner = (program, serverUrl) =>
  new Promise((resolve, reject) => {
    const child = spawn(program, ["get"], { stdio: ["pipe", "pipe", "pipe"], timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
      if (stdout.length > HELPER_OUTPUT_CAP) {
        child.kill();
        reject(new Error(`it wrote more than ${HELPER_OUTPUT_CAP / 1024} KiB`));
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < HELPER_OUTPUT_CAP) stderr = (stderr + d).slice(0, HELPER_OUTPUT_CAP);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => {
      // A helper that exits without reading stdin: its exit code says what happened.
    });
    child.stdin.end(serverUrl);
  });

/** A helper's first line, cut to what a message can hold, without control characters. */
const oneLine = (out: string) => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: those are what is removed
  const line = (out.split("\n")[0] ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "");
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
};

/** Asks a credential helper, per docker-credential-helpers' protocol. */
async function fromHelper(
  name: string,
  serverUrl: string,
  run: HelperRunner,
): Promise<AuthConfig | undefined> {
  const program = `docker-credential-${name}`;
  if (!HELPER_NAME.test(name)) {
    throw new RefusedError(
      `${JSON.stringify(name)} (the docker config's credential helper for ${serverUrl}) is not a credential helper name`,
      "name it as docker does, [a-z0-9_-] only (docker-credential-<name> is found on PATH), or remove it",
    );
  }
  let res: Awaited<ReturnType<HelperRunner>>;
  try {
    res = await run(program, serverUrl);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new RefusedError(
      missing
        ? `credential helper ${program} (named in the docker config for ${serverUrl}) is not on PATH`
        : `credential helper ${program} failed for ${serverUrl}: ${(err as Error).message}`,
      missing
        ? `install ${program}, or remove it from the docker config`
        : `run: echo ${serverUrl} | ${program} get`,
    );
  }
  const out = `${res.stdout}\n${res.stderr}`.trim();
  if (res.code !== 0) {
    // The helpers' shared "credentials not found in native keychain": pull anonymously, like docker.
    if (/credentials not found/i.test(out)) return undefined;
    throw new RefusedError(
      `credential helper ${program} failed for ${serverUrl}: ${oneLine(out) || `exit code ${res.code}`}`,
      `run: echo ${serverUrl} | ${program} get`,
    );
  }
  let creds: { Username?: string; Secret?: string };
  try {
    creds = JSON.parse(res.stdout) as typeof creds;
  } catch {
    throw new RefusedError(
      `credential helper ${program} answered for ${serverUrl} with something that is not JSON`,
      `run: echo ${serverUrl} | ${program} get`,
    );
  }
  if (!creds.Secret) return undefined;
  // Helpers store identity tokens (OAuth refresh tokens) under the user name "<token>".
  if (creds.Username === "<token>") return { serveraddress: serverUrl, identitytoken: creds.Secret };
  return { serveraddress: serverUrl, username: creds.Username ?? "", password: creds.Secret };
}

export interface CredentialOptions {
  env?: NodeJS.ProcessEnv;
  run?: HelperRunner;
}

/** Credentials for a pull, and where they came from (for messages when the registry refuses them). */
export interface Credentials {
  auth: AuthConfig | undefined;
  /** "docker-credential-<name>", or the config file the `auths` entry (or nothing) was found in. */
  source: string;
}

/**
 * The credentials docker would use to pull `ref` (auth undefined: an anonymous pull). A
 * helper for the registry (`credHelpers`, else `credsStore`) wins over `auths`, as in the
 * docker CLI, where `auths` then only records that a login happened.
 */
export async function findCredentials(ref: string, opts: CredentialOptions = {}): Promise<Credentials> {
  const path = configPath(opts.env ?? process.env);
  const config = readConfig(path);
  const registry = registryOf(ref);
  const key = authKeyOf(registry);
  // The CLI looks helpers up by host; Hub's is "index.docker.io" (the host of its v1 key).
  const hosts = registry === DOCKER_HUB ? ["index.docker.io", DOCKER_HUB, key] : [registry];
  const helper = hosts.map((h) => config.credHelpers?.[h]).find(Boolean);
  const store = helper ?? config.credsStore;
  if (store)
    return {
      auth: await fromHelper(store, key, opts.run ?? runHelper),
      source: `docker-credential-${store}`,
    };
  const auths = config.auths ?? {};
  // Old `docker login` wrote keys with a scheme and path (https://host/v1/): match on host.
  const entry = auths[key] ?? auths[Object.keys(auths).find((k) => hostOfKey(k) === registry) ?? ""];
  return { auth: entry ? fromEntry(entry, key, path) : undefined, source: path };
}

export async function credentialsFor(
  ref: string,
  opts: CredentialOptions = {},
): Promise<AuthConfig | undefined> {
  return (await findCredentials(ref, opts)).auth;
}
