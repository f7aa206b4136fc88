// All command-line configuration is parsed and validated here, once, before anything
// touches Docker or Traefik: bad input is refused with exit 2 and nothing changed.
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { RolloutOptions } from "../app/context.js";
import { RefusedError } from "../controller/errors.js";
import type { SmokeSpec, WarmupSpec } from "../engine/checkSpec.js";
import type { Gate } from "./parsers.js";
import { fieldOf, OPTIONS, type RawOptions, REMEMBERED } from "./table/index.js";
import { checkName, checkService } from "./validate.js";

/** Options as commander hands them over (strings), generated from the option table. */
export type { RawOptions };

/**
 * The parsed options: what the use cases act on (app/context.ts RolloutOptions, the same
 * fields and types) and what only the CLI needs to wire the adapters.
 */
export interface Options
  extends Pick<
    RolloutOptions,
    | "healthTimeoutMs"
    | "routeTimeoutMs"
    | "drainMs"
    | "maxSurge"
    | "waitMs"
    | "lockStaleMs"
    | "lockLeaseMs"
    | "historyLimit"
    | "toRevision"
    | "pull"
    | "write"
    | "dryRun"
    | "preDeploy"
    | "postDeploy"
    | "preDeployTimeoutMs"
    | "postDeployTimeoutMs"
    | "allowBreaking"
  > {
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
  drainFile: string;
  drainCommand?: string[];
  allowUnsafeDrain: boolean;
  image?: string;
  /** `--scale SERVICE=N`: checked against the service rolled (cli/app-context.ts). */
  scale?: { service: string; replicas: number };
  json: boolean;
  verbose: boolean;
  /** What the migration gate does with a migration that would break the old replicas. */
  migrationGate: Gate;
  warmup: WarmupSpec[];
  smoke: SmokeSpec[];
  /** The Host header of warm-up and smoke requests (an app's ALLOWED_HOSTS); default: the address. */
  checkHost?: string;
  /** `up`: services left out, stateful ones forced, a worker's settle time. */
  skip: string[];
  force: boolean;
  settleMs: number;
  /** The bake (docs/bake.md): undefined bakeMs takes compose's deploy.update_config.monitor. */
  bakeMs?: number;
  canary?: number;
  maxErrorRate: number;
  maxLatencyRatio: number;
  maxP99Ms?: number;
  minRequests: number;
  /** container:<name> or a file; default: the project's Traefik container. */
  accessLog?: string;
}

export { GATE, type Gate, PULL, type Pull } from "./parsers.js";
export { DEFAULTS, REMEMBERED } from "./table/index.js";

/** Flags given on the command line win; the last revision's settings fill the gaps. */
export function withSettings(raw: RawOptions, settings: Record<string, string> | undefined): RawOptions {
  const merged: RawOptions = { ...raw };
  for (const key of REMEMBERED) {
    const field = key as keyof RawOptions;
    if (merged[field] === undefined && settings?.[key] !== undefined)
      (merged as Record<string, unknown>)[field] = settings[key];
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
  const opts: Record<string, unknown> = { service, traefikFile };
  for (const row of OPTIONS) {
    if (!row.parse) continue;
    const field = fieldOf(row.key) as keyof RawOptions;
    // Lists and on/off flags always have a value (empty, off); others only when given or defaulted.
    const value = raw[field] ?? row.default;
    if (value === undefined && row.type !== "boolean" && row.repeatable === undefined) continue;
    const parsed = row.parse(value, n(field));
    if (parsed !== undefined) opts[row.into ?? field] = parsed;
  }
  opts.traefikService =
    raw.traefikService === undefined
      ? service
      : checkName(raw.traefikService, n("traefikService"), "traefikService");
  return opts as unknown as Options;
}
