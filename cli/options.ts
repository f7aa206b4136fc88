// All command-line configuration is parsed and validated here, once, before anything
// touches Docker or Traefik: bad input is refused with exit 2 and nothing changed.
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RefusedError } from "../controller/errors.js";
import { parseSmoke, parseWarmup, type SmokeSpec, type WarmupSpec } from "../engine/checkSpec.js";
import { type PullPolicy, pullPolicyOf } from "../engine/pullPolicy.js";
import { checkHostName, checkImageRef, hookArgv, httpUrl, parseArgv, parseDuration } from "./parsers.js";
import {
  atLeast,
  checkName,
  checkProbePath,
  checkProjectName,
  checkService,
  shown,
  wholeNumber,
} from "./validate.js";

/** Options every command shares, as commander hands them over (strings). */
export interface RawOptions {
  file?: string[];
  envFile?: string[];
  profile?: string[];
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
  /** Label mode: the file whose existence fails the healthcheck (--drain-file). */
  drainFile?: string;
  /** Label mode: argv exec'd in an old container to fail its healthcheck (JSON array or words). */
  drainCommand?: string;
  allowUnsafeDrain?: boolean;
  maxSurge?: string;
  image?: string;
  json?: boolean;
  verbose?: boolean;
  wait?: string;
  lockStaleAfter?: string;
  lockLease?: string;
  historyLimit?: string;
  toRevision?: string;
  // Settings from the compose file / environment (cli/settings.ts) need these too.
  pull?: string;
  /** false = --no-write. */
  write?: boolean;
  dryRun?: boolean;
  /** -H/--host and --context: which Docker engine (engine/host.ts), as for the docker CLI. */
  host?: string;
  context?: string;
  /** Deploy hooks: a string split like compose's `command:`, or (from x-compose-roll) an argv list. */
  preDeploy?: string | string[];
  postDeploy?: string | string[];
  preDeployTimeout?: string;
  postDeployTimeout?: string;
  migrationGate?: string;
  allowBreaking?: boolean;
  /** Repeatable flags; a string or a list in x-compose-roll. */
  warmup?: string | string[];
  smoke?: string | string[];
  checkHost?: string;
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
  drainFile: string;
  drainCommand?: string[];
  allowUnsafeDrain: boolean;
  maxSurge: number;
  image?: string;
  json: boolean;
  verbose: boolean;
  waitMs: number;
  lockStaleMs: number;
  lockLeaseMs: number;
  historyLimit: number;
  toRevision?: number;
  /** `--pull` (or x-compose-roll / COMPOSE_ROLL_PULL) normalized; undefined lets the service's pull_policy, else "missing", decide. */
  pull?: PullPolicy;
  write: boolean;
  dryRun: boolean;
  /** argv of the one-off container run before any traffic moves (a migration), and after success. */
  preDeploy?: string[];
  postDeploy?: string[];
  preDeployTimeoutMs: number;
  postDeployTimeoutMs: number;
  /** What the migration gate does with a migration that would break the old replicas. */
  migrationGate: Gate;
  allowBreaking: boolean;
  warmup: WarmupSpec[];
  smoke: SmokeSpec[];
  /** The Host header of warm-up and smoke requests (an app's ALLOWED_HOSTS); default: the address. */
  checkHost?: string;
}

export const GATE = ["off", "warn", "refuse"] as const;
export type Gate = (typeof GATE)[number];

export const PULL = ["missing", "always", "never"] as const;
export type Pull = (typeof PULL)[number];

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
  // docker-rollout's drain-file convention: the healthcheck fails while this file exists.
  drainFile: "/tmp/drain",
  probePath: "/",
  wait: "0s",
  // Only for a lock an older compose-roll (without a lease) took on another host.
  lockStaleAfter: "30m",
  // A dead holder elsewhere frees the lock this long after its last renewal (every lease/6).
  lockLease: "60s",
  historyLimit: "10",
  pull: "missing",
  // Migrations of a large table can take minutes; the lock's lease is renewed meanwhile.
  preDeployTimeout: "10m",
  postDeployTimeout: "10m",
  migrationGate: "refuse",
} as const;

/** A timeout: a duration of at least a second (zero would fail every rollout at its first wait). */
function timeout(text: string, what: string): number {
  return atLeast(parseDuration(text, what), 1000, text, what);
}

/**
 * How a value is named in refusals: the flag by default; cli/settings.ts names the
 * environment variable or the compose file's x-compose-roll block it came from instead.
 */
export type OptionNames = Partial<Record<keyof RawOptions, string>>;

function flagOf(key: keyof RawOptions): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
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
export function parseOptions(
  service: string,
  raw: RawOptions,
  cwd: string,
  traefik = true,
  names: OptionNames = {},
): Options {
  const n = (key: keyof RawOptions) => names[key] ?? flagOf(key);
  checkService(service);
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
      `${n("traefikFile")}: ${traefikFile} must end in .yml or .yaml (Traefik reads no other)`,
      "name a .yml file in the directory Traefik's file provider watches, or that directory",
    );
  }
  const opts: Options = {
    service,
    files: raw.file ?? [],
    traefikApi: httpUrl(raw.traefikApi ?? DEFAULTS.traefikApi, n("traefikApi")),
    traefikUrl: httpUrl(raw.traefikUrl ?? DEFAULTS.traefikUrl, n("traefikUrl")),
    traefikFile,
    traefikService:
      raw.traefikService === undefined
        ? service
        : checkName(raw.traefikService, n("traefikService"), "traefikService"),
    probePath: checkProbePath(raw.probePath ?? DEFAULTS.probePath, n("probePath")),
    healthTimeoutMs: timeout(raw.healthTimeout ?? DEFAULTS.healthTimeout, n("healthTimeout")),
    routeTimeoutMs: timeout(raw.routeTimeout ?? DEFAULTS.routeTimeout, n("routeTimeout")),
    drainMs: parseDuration(raw.drain ?? DEFAULTS.drain, n("drain")),
    drainFile: raw.drainFile ?? DEFAULTS.drainFile,
    allowUnsafeDrain: raw.allowUnsafeDrain ?? false,
    maxSurge: wholeNumber(raw.maxSurge ?? DEFAULTS.maxSurge, n("maxSurge"), "maxSurge"),
    json: raw.json ?? false,
    verbose: raw.verbose ?? false,
    waitMs: parseDuration(raw.wait ?? DEFAULTS.wait, n("wait")),
    lockStaleMs: parseDuration(raw.lockStaleAfter ?? DEFAULTS.lockStaleAfter, n("lockStaleAfter")),
    // Renewed every lease/6: below 10s, one slow engine call could cost a live holder its lock.
    lockLeaseMs: atLeast(
      parseDuration(raw.lockLease ?? DEFAULTS.lockLease, n("lockLease")),
      10_000,
      raw.lockLease ?? DEFAULTS.lockLease,
      n("lockLease"),
    ),
    historyLimit: wholeNumber(raw.historyLimit ?? DEFAULTS.historyLimit, n("historyLimit"), "historyLimit"),
    write: raw.write ?? true,
    dryRun: raw.dryRun ?? false,
    preDeployTimeoutMs: timeout(raw.preDeployTimeout ?? DEFAULTS.preDeployTimeout, n("preDeployTimeout")),
    postDeployTimeoutMs: timeout(raw.postDeployTimeout ?? DEFAULTS.postDeployTimeout, n("postDeployTimeout")),
    migrationGate: gateOf(raw.migrationGate ?? DEFAULTS.migrationGate, n("migrationGate")),
    allowBreaking: raw.allowBreaking ?? false,
    warmup: listOf(raw.warmup).map((t) => parseWarmup(t, n("warmup"))),
    smoke: listOf(raw.smoke).map((t) => parseSmoke(t, n("smoke"))),
  };
  if (raw.checkHost !== undefined) opts.checkHost = checkHostName(raw.checkHost, n("checkHost"));
  if (raw.preDeploy !== undefined) opts.preDeploy = hookArgv(raw.preDeploy, n("preDeploy"));
  if (raw.postDeploy !== undefined) opts.postDeploy = hookArgv(raw.postDeploy, n("postDeploy"));
  if (raw.toRevision !== undefined)
    opts.toRevision = wholeNumber(raw.toRevision, n("toRevision"), "toRevision");
  if (raw.projectName !== undefined)
    opts.projectName = checkProjectName(raw.projectName, "-p/--project-name");
  if (raw.port !== undefined) opts.port = wholeNumber(raw.port, n("port"), "port");
  if (raw.network !== undefined) opts.network = checkName(raw.network, n("network"), "network");
  if (raw.image !== undefined) opts.image = checkImageRef(raw.image);
  if (!opts.drainFile.startsWith("/")) {
    throw new RefusedError(
      `${n("drainFile")}: ${shown(opts.drainFile)} must be an absolute path inside the container`,
      "give one like /tmp/drain, the file the service's healthcheck tests for",
    );
  }
  if (raw.drainCommand !== undefined) opts.drainCommand = parseArgv(raw.drainCommand, n("drainCommand"));
  if (raw.pull !== undefined) opts.pull = pullPolicyOf(raw.pull, n("pull")).policy;
  return opts;
}

function gateOf(text: string, what: string): Gate {
  if ((GATE as readonly string[]).includes(text)) return text as Gate;
  throw new RefusedError(`${what}: ${shown(text)} is not a gate mode`, `use one of ${GATE.join(", ")}`);
}

function listOf(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
