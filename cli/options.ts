// All command-line configuration is parsed and validated here, once, before anything
// touches Docker or Traefik: bad input is refused with exit 2 and nothing changed.
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RefusedError } from "../controller/errors.js";

/** Options every command shares, as commander hands them over (strings). */
export interface RawOptions {
  file?: string[];
  projectName?: string;
  traefikApi?: string;
  traefikUrl?: string;
  traefikFile?: string;
  traefikService?: string;
  probePath?: string;
  port?: string;
  network?: string;
  healthTimeout?: string;
  routeTimeout?: string;
  drain?: string;
  maxSurge?: string;
  image?: string;
  json?: boolean;
  verbose?: boolean;
  wait?: string;
  lockStaleAfter?: string;
  historyLimit?: string;
  toRevision?: string;
}

export interface Options {
  service: string;
  files: string[];
  projectName?: string;
  traefikApi: URL;
  traefikUrl: URL;
  traefikFile: string;
  traefikService: string;
  probePath: string;
  port?: number;
  network?: string;
  healthTimeoutMs: number;
  routeTimeoutMs: number;
  drainMs: number;
  maxSurge: number;
  image?: string;
  json: boolean;
  verbose: boolean;
  waitMs: number;
  lockStaleMs: number;
  historyLimit: number;
  toRevision?: number;
}

/** What a rollout remembers in its revision, so the next command needs fewer flags. */
export const REMEMBERED = [
  "traefikFile",
  "traefikApi",
  "traefikUrl",
  "traefikService",
  "network",
  "probePath",
] as const;

/** Flags given on the command line win; the last revision's settings fill the gaps. */
export function withSettings(raw: RawOptions, settings: Record<string, string> | undefined): RawOptions {
  const merged: RawOptions = { ...raw };
  for (const key of REMEMBERED) {
    if (merged[key] === undefined && settings?.[key] !== undefined) merged[key] = settings[key];
  }
  return merged;
}

export function settingsOf(o: Options): Record<string, string> {
  const out: Record<string, string> = {
    traefikFile: o.traefikFile,
    traefikApi: o.traefikApi.href,
    traefikUrl: o.traefikUrl.href,
    traefikService: o.traefikService,
    probePath: o.probePath,
  };
  if (o.network) out.network = o.network;
  return out;
}

export const DEFAULTS = {
  traefikApi: "http://127.0.0.1:8080",
  traefikUrl: "http://127.0.0.1",
  healthTimeout: "120s",
  // Traefik applies the first change at once but throttles later ones to one per 2 s, and
  // we wait for its API anyway: 30 s only bites when Traefik is really stuck.
  routeTimeout: "30s",
  // Traefik swaps handlers atomically and lets in-flight requests finish on the old one,
  // and the server is out of its API before the drain starts; the drain only has to cover
  // requests already in flight (the app's own graceful stop covers longer ones).
  drain: "3s",
  maxSurge: "1",
  probePath: "/",
  wait: "0s",
  // Only for a holder on another host, whose process we cannot check: longer than any sane rollout.
  lockStaleAfter: "30m",
  historyLimit: "10",
} as const;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "120s", "2m", "1m30s", "500ms", or a bare number of seconds. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== t) {
    throw new RefusedError(`${what}: "${text}" is not a duration`, 'use e.g. "90s", "2m" or "500ms"');
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] as string] as number), 0));
}

function positiveInt(text: string, what: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new RefusedError(`${what}: "${text}" must be a whole number from 1 to ${max}`);
  }
  return n;
}

function url(text: string, what: string): URL {
  try {
    const u = new URL(text);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
    return u;
  } catch {
    throw new RefusedError(`${what}: "${text}" is not an http(s) URL`, "e.g. http://127.0.0.1:8080");
  }
}

/** A docker image reference: [registry/]name[:tag][@digest], or an image ID. */
export function checkImageRef(ref: string): string {
  const re =
    /^(sha256:[a-f0-9]{12,64}|[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._/-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?)$/;
  if (!re.test(ref)) throw new RefusedError(`--image: "${ref}" is not a valid image reference`);
  return ref;
}

/**
 * `--traefik-file` may name the directory Traefik watches (an existing directory, or a path
 * ending in `/`): compose-roll then owns `<directory>/<traefik service>.yml` in it.
 */
export function traefikFileOf(given: string, traefikService: string, cwd: string): string {
  const path = resolve(cwd, given);
  const isDir = given.endsWith("/") || statSync(path, { throwIfNoEntry: false })?.isDirectory();
  return isDir ? join(path, `${traefikService}.yml`) : path;
}

/** `traefik: false` for commands that never touch Traefik (history, lock). */
export function parseOptions(service: string, raw: RawOptions, cwd: string, traefik = true): Options {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(service)) {
    throw new RefusedError(`"${service}" is not a valid compose service name`);
  }
  if (!raw.traefikFile && traefik) {
    throw new RefusedError(
      "--traefik-file is required (no earlier rollout of this service recorded one)",
      "name the YAML file compose-roll owns, in the directory Traefik's file provider watches",
    );
  }
  const traefikFile = raw.traefikFile
    ? traefikFileOf(raw.traefikFile, raw.traefikService ?? service, cwd)
    : "";
  if (traefikFile && !/\.ya?ml$/.test(traefikFile)) {
    throw new RefusedError(
      `--traefik-file: ${traefikFile} must end in .yml or .yaml (Traefik reads no other)`,
    );
  }
  const opts: Options = {
    service,
    files: raw.file ?? [],
    traefikApi: url(raw.traefikApi ?? DEFAULTS.traefikApi, "--traefik-api"),
    traefikUrl: url(raw.traefikUrl ?? DEFAULTS.traefikUrl, "--traefik-url"),
    traefikFile,
    traefikService: raw.traefikService ?? service,
    probePath: raw.probePath ?? DEFAULTS.probePath,
    healthTimeoutMs: parseDuration(raw.healthTimeout ?? DEFAULTS.healthTimeout, "--health-timeout"),
    routeTimeoutMs: parseDuration(raw.routeTimeout ?? DEFAULTS.routeTimeout, "--route-timeout"),
    drainMs: parseDuration(raw.drain ?? DEFAULTS.drain, "--drain"),
    maxSurge: positiveInt(raw.maxSurge ?? DEFAULTS.maxSurge, "--max-surge", 100),
    json: raw.json ?? false,
    verbose: raw.verbose ?? false,
    waitMs: parseDuration(raw.wait ?? DEFAULTS.wait, "--wait"),
    lockStaleMs: parseDuration(raw.lockStaleAfter ?? DEFAULTS.lockStaleAfter, "--lock-stale-after"),
    historyLimit: positiveInt(raw.historyLimit ?? DEFAULTS.historyLimit, "--history-limit", 1000),
  };
  if (raw.toRevision !== undefined) opts.toRevision = positiveInt(raw.toRevision, "--to-revision", 1_000_000);
  if (!opts.probePath.startsWith("/")) throw new RefusedError(`--probe-path must start with /`);
  if (raw.projectName !== undefined) opts.projectName = raw.projectName;
  if (raw.port !== undefined) opts.port = positiveInt(raw.port, "--port", 65535);
  if (raw.network !== undefined) opts.network = raw.network;
  if (raw.image !== undefined) opts.image = checkImageRef(raw.image);
  return opts;
}
