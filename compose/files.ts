// Which compose files and flags a project is: compose's own rules for finding the files, and
// the `docker compose config` calls that read the model. Kept apart from project.ts (and its
// YAML parser) so the CLI can start those calls while the rest of it is still loading
// (cli/early.ts): `docker compose config` is ~0.1 s of a `status` that should take ≤ 0.3 s.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { RefusedError } from "../controller/errors.js";
import { type ComposeArgs, prestart, type RunOptions } from "./cli.js";

/** Compose's default file names, in its order of preference, and their override siblings. */
export const DEFAULT_FILES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
const OVERRIDES: Record<string, string[]> = {
  "compose.yaml": ["compose.override.yaml", "compose.override.yml"],
  "compose.yml": ["compose.override.yml", "compose.override.yaml"],
  "docker-compose.yml": ["docker-compose.override.yml", "docker-compose.override.yaml"],
  "docker-compose.yaml": ["docker-compose.override.yaml", "docker-compose.override.yml"],
};

export interface ProjectInput {
  files: string[];
  projectName?: string;
  cwd: string;
  env: Record<string, string | undefined>;
  envFiles?: string[];
  profiles?: string[];
  /**
   * Also read each service's image before interpolation (a second `docker compose config`,
   * run beside the first): only writing the compose files back needs it (default true).
   */
  rawImages?: boolean;
}

/** The project's files and flags as compose takes them, and the `config` calls for its model. */
export interface ComposeCalls {
  args: ComposeArgs;
  run: RunOptions;
  /** The interpolated model; then, when asked for, the images as written. */
  model: string[];
  raw?: string[];
}

// Services' own x- blocks are dropped by `--format json` in compose 2.31; YAML keeps them.
const MODEL = ["config", "--format", "yaml"];
const RAW = ["config", "--no-interpolate", "--format", "yaml"];

export function composeCalls(input: ProjectInput): ComposeCalls {
  const files = findFiles(input);
  const given = input.envFiles?.length ? input.envFiles : splitList(input.env.COMPOSE_ENV_FILES, ",");
  const args: ComposeArgs = {
    files,
    envFiles: given.map((f) => resolve(input.cwd, f)),
    profiles: input.profiles ?? [],
    ...(input.projectName ? { projectName: input.projectName } : {}),
  };
  const run = { cwd: input.cwd, env: input.env };
  return { args, run, model: MODEL, ...(input.rawImages === false ? {} : { raw: RAW }) };
}

/**
 * Starts the `config` calls loadProject(input) will make, so that they run while this process
 * does other work; loadProject with an equal input then takes their output (compose/cli.ts).
 * Errors are left for loadProject to report.
 */
export function prestartProject(input: ProjectInput): void {
  const calls = composeCalls(input);
  if (calls.args.files.length === 0) return;
  prestart(calls.args, calls.model, calls.run);
  if (calls.raw) prestart(calls.args, calls.raw, calls.run);
}

/** -f flags, else COMPOSE_FILE, else compose's default file (and its override) here or above. */
function findFiles(input: ProjectInput): string[] {
  const given =
    input.files.length > 0
      ? input.files
      : splitList(input.env.COMPOSE_FILE, input.env.COMPOSE_PATH_SEPARATOR ?? ":");
  if (given.length > 0) {
    const paths = given.map((f) => resolve(input.cwd, f));
    const missing = paths.find((p) => !existsSync(p));
    if (missing) throw new RefusedError(`compose file not found: ${missing}`, "check -f / COMPOSE_FILE");
    return paths;
  }
  for (let dir = resolve(input.cwd); ; dir = dirname(dir)) {
    const name = DEFAULT_FILES.find((f) => existsSync(join(dir, f)));
    if (name) {
      const override = OVERRIDES[name]?.map((f) => join(dir, f)).find((p) => existsSync(p));
      return [join(dir, name), ...(override ? [override] : [])];
    }
    if (dir === dirname(dir)) return [];
  }
}

function splitList(v: string | undefined, sep: string): string[] {
  return v ? v.split(sep).filter(Boolean) : [];
}
