// The compose project as `docker compose` itself sees it: files found the way compose finds
// them, then `docker compose config` for the model (interpolation, env files, profiles,
// extends, include). Files are optional: a CI job that only knows `-p` and the service (say,
// `undo` at 3 a.m.) goes by the containers' labels alone.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { RefusedError } from "../controller/errors.js";
import { type ComposeArgs, compose } from "./cli.js";

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

export interface ServiceConfig {
  /** The image compose would run now (interpolated). */
  image?: string;
  containerName?: string;
  /** `network_mode:` when set (host, none, container:<x>, service:<x>, or a network). */
  networkMode?: string;
  /** Published ports with a fixed host port, as written. */
  fixedHostPorts: string[];
  /** deploy.replicas or scale, when set. */
  replicas?: number;
  /** `labels:` as compose merged them (a list form turned into a map). */
  labels?: Record<string, string>;
  /** `environment:` with env_file merged in, as compose resolved it (null: passed through, unset). */
  environment?: Record<string, string | null>;
  /** `command:` as compose resolved it (an argv). */
  command?: string[];
  pullPolicy?: string;
  /** deploy.update_config.monitor as compose gives it ("30s", or nanoseconds): the bake's default. */
  monitor?: string | number;
  /** The service's `x-compose-roll` block, unvalidated (cli/settings.ts validates). */
  settings?: unknown;
  /** The file that declares it (see declaringFile), for refusals to name. */
  settingsFile?: string;
}

export interface Project {
  name: string;
  /** Compose's project directory: relative paths in the files resolve against it. */
  dir: string;
  /** Absolute paths of the compose files read; empty when none were found. */
  files: string[];
  /** The env files compose reads: --env-file / COMPOSE_ENV_FILES, else <dir>/.env. */
  envFiles: string[];
  services: Record<string, ServiceConfig>;
  /** The top-level `x-compose-roll` block, unvalidated. */
  settings?: unknown;
  /** The file that declares it (see declaringFile), for refusals to name. */
  settingsFile?: string;
  /** The same project, for further `docker compose` calls. */
  args: ComposeArgs;
  /** The image of each service before interpolation, as compose merged it (unless not asked for). */
  rawImages?: Record<string, string | undefined>;
}

export async function loadProject(input: ProjectInput): Promise<Project> {
  const files = findFiles(input);
  const given = input.envFiles?.length ? input.envFiles : splitList(input.env.COMPOSE_ENV_FILES, ",");
  const envFiles = given.map((f) => resolve(input.cwd, f));
  const args: ComposeArgs = {
    files,
    envFiles,
    profiles: input.profiles ?? [],
    ...(input.projectName ? { projectName: input.projectName } : {}),
  };
  if (files.length === 0) {
    const raw = input.projectName ?? input.env.COMPOSE_PROJECT_NAME ?? basename(input.cwd);
    const name = normalizeProjectName(raw);
    return { name, dir: input.cwd, files, envFiles, services: {}, args, rawImages: {} };
  }
  const dir = dirname(files[0] as string);
  const run = { cwd: input.cwd, env: input.env };
  // Services' own x- blocks are dropped by `--format json` in compose 2.31; YAML keeps them.
  const [model, rawImages] = await Promise.all([
    compose(args, ["config", "--format", "yaml"], run).then(yamlRecord),
    input.rawImages === false ? undefined : loadRawImages(args, run),
  ]);
  const texts = files.map(readYaml);
  const services: Record<string, ServiceConfig> = {};
  for (const [svc, def] of Object.entries(asRecord(model.services))) {
    const cfg = serviceConfig(asRecord(def));
    const file =
      cfg.settings !== undefined && declaringFile(files, texts, ["services", svc, "x-compose-roll"]);
    if (file) cfg.settingsFile = file;
    services[svc] = cfg;
  }
  const name = typeof model.name === "string" ? model.name : normalizeProjectName(basename(dir));
  const settingsFile =
    model["x-compose-roll"] !== undefined && declaringFile(files, texts, ["x-compose-roll"]);
  return {
    name,
    dir,
    files,
    envFiles: envFiles.length ? envFiles : [join(dir, ".env")],
    services,
    ...(model["x-compose-roll"] !== undefined ? { settings: unescaped(model["x-compose-roll"]) } : {}),
    ...(settingsFile ? { settingsFile } : {}),
    args: { ...args, projectName: name },
    ...(rawImages ? { rawImages } : {}),
  };
}

/**
 * Each service's image before interpolation, as compose merges the files now: read again
 * before a write-back, as another run may have rewritten the files since they were loaded.
 */
export async function loadRawImages(
  args: ComposeArgs,
  run: { cwd: string; env: Record<string, string | undefined> },
): Promise<Record<string, string | undefined>> {
  const raw = yamlRecord(await compose(args, ["config", "--no-interpolate", "--format", "yaml"], run));
  const images: Record<string, string | undefined> = {};
  for (const [svc, def] of Object.entries(asRecord(raw.services))) {
    const image = asRecord(def).image;
    images[svc] = typeof image === "string" ? image : undefined;
  }
  return images;
}

/**
 * The config hash compose computes for `service` (what `up` compares with the containers'
 * `com.docker.compose.config-hash`), optionally as if its `image:` were `image`: an override
 * file changes nothing else, so this is the hash the service will have once the files say so.
 */
export async function serviceHash(
  project: Project,
  service: string,
  env: Record<string, string | undefined>,
  image?: string,
): Promise<string> {
  return withImage(project, service, image, async (args) => {
    const out = await compose(args, ["config", `--hash=${service}`], { cwd: project.dir, env });
    const hash = out.trim().split(/\s+/).pop() ?? "";
    if (!/^[a-f0-9]{64}$/.test(hash)) {
      throw new RefusedError(`docker compose config --hash=${service} printed no hash: ${out.trim()}`);
    }
    return hash;
  });
}

/**
 * Runs `fn` with the project's compose arguments, plus an override file giving `service` the
 * image `image` when one is asked for: compose then computes everything (hash, labels) as it
 * will once the files themselves name that image.
 */
export async function withImage<T>(
  project: Project,
  service: string,
  image: string | undefined,
  fn: (args: ComposeArgs) => Promise<T>,
): Promise<T> {
  if (!image) return fn(project.args);
  const tmp = mkdtempSync(join(tmpdir(), "compose-roll-image-"));
  try {
    const override = join(tmp, "image.yaml");
    writeFileSync(override, stringify({ services: { [service]: { image } } }));
    return await fn({ ...project.args, files: [...project.args.files, override] });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** -f flags, else COMPOSE_FILE, else compose's default file (and its override) here or above. */
function findFiles(input: ProjectInput): string[] {
  const given = input.files.length > 0 ? input.files : splitComposeFile(input.env);
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

/**
 * Of the files compose merged, the one whose own YAML has `path` (an `x-compose-roll` key):
 * the last, since compose takes an extension block whole from the last file that sets it.
 * Undefined when none does (the block came through `extends` or `include`).
 */
function declaringFile(files: string[], texts: unknown[], path: string[]): string | undefined {
  for (let i = files.length - 1; i >= 0; i--) {
    let node: unknown = texts[i];
    for (const key of path) node = asRecord(node)[key];
    if (node !== undefined) return files[i];
  }
  return undefined;
}

/** A compose file's own YAML (anchors and `<<` merges resolved); compose has parsed it already. */
function readYaml(file: string): unknown {
  try {
    return parse(readFileSync(file, "utf8"), { merge: true });
  } catch {
    return undefined;
  }
}

function splitComposeFile(env: ProjectInput["env"]): string[] {
  return splitList(env.COMPOSE_FILE, env.COMPOSE_PATH_SEPARATOR ?? ":");
}

function splitList(v: string | undefined, sep: string): string[] {
  return v ? v.split(sep).filter(Boolean) : [];
}

function yamlRecord(text: string): Record<string, unknown> {
  return asRecord(parse(text));
}

/** Compose's rule: lowercase, only [a-z0-9_-], starting with a letter or digit. */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "")
    .replace(/^[^a-z0-9]+/, "");
}

function serviceConfig(raw: Record<string, unknown>): ServiceConfig {
  const cfg: ServiceConfig = { fixedHostPorts: fixedHostPorts(raw.ports) };
  if (typeof raw.image === "string") cfg.image = raw.image;
  if (typeof raw.container_name === "string") cfg.containerName = raw.container_name;
  if (typeof raw.network_mode === "string") cfg.networkMode = raw.network_mode;
  const replicas = asRecord(raw.deploy).replicas ?? raw.scale;
  if (typeof replicas === "number") cfg.replicas = replicas;
  if (typeof raw.pull_policy === "string") cfg.pullPolicy = raw.pull_policy;
  const labels = labelMap(raw.labels);
  if (labels) cfg.labels = labels;
  // compose config prints the environment as a map; a list form never reaches it.
  if (raw.environment !== undefined)
    cfg.environment = Object.fromEntries(
      Object.entries(asRecord(raw.environment)).map(([k, v]) => [k, v == null ? null : String(unescaped(v))]),
    );
  // compose config keeps `$$` escaped; the container gets one `$`.
  if (Array.isArray(raw.command)) cfg.command = raw.command.map((a) => String(unescaped(a)));
  const monitor = asRecord(asRecord(raw.deploy).update_config).monitor;
  if (typeof monitor === "string" || typeof monitor === "number") cfg.monitor = monitor;
  if (raw["x-compose-roll"] !== undefined) cfg.settings = unescaped(raw["x-compose-roll"]);
  return cfg;
}

/** compose config prints labels as a map; a list (`- k=v`) is read too. */
function labelMap(v: unknown): Record<string, string> | undefined {
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.map((l) => {
        const [k, ...rest] = String(l).split("=");
        return [k as string, String(unescaped(rest.join("=")))];
      }),
    );
  }
  if (!v || typeof v !== "object") return undefined;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(unescaped(x) ?? "")]));
}

/**
 * Published ports that pin a host port: "8000:8000", "127.0.0.1:80:80", or the long form
 * with `published`. A range or an ephemeral port ("8000", "127.0.0.1::80") can run twice.
 */
export function fixedHostPorts(ports: unknown): string[] {
  if (!Array.isArray(ports)) return [];
  return ports.flatMap((p) => {
    if (typeof p === "number") return [];
    if (typeof p === "string") {
      const parts = p.split("/")[0]?.split(":") ?? [];
      const host = parts.length >= 2 ? parts[parts.length - 2] : "";
      return host ? [p] : [];
    }
    // compose config prints the long form; show it as the short one users write.
    const { host_ip: ip, published, target } = asRecord(p);
    if (published === undefined || published === "") return [];
    return [`${typeof ip === "string" && ip ? `${ip}:` : ""}${published}:${target}`];
  });
}

/** What makes a service impossible to run twice, said before anything changes. */
export function checkRollable(project: Project, service: string): void {
  if (project.files.length === 0) return; // labels-only mode: the engine checks what it can
  const cfg = project.services[service];
  if (!cfg) {
    const known = Object.keys(project.services).join(", ") || "none";
    throw new RefusedError(
      `no service ${JSON.stringify(service)} in ${project.files.join(", ")} (services: ${known})`,
      "name one of those services; one outside the active profiles needs --profile <name>",
    );
  }
  if (cfg.containerName) {
    throw new RefusedError(
      `service ${service} sets container_name: ${cfg.containerName}, so a second container cannot start beside it`,
      "remove container_name from the service",
    );
  }
  if (cfg.fixedHostPorts.length > 0) {
    throw new RefusedError(
      `service ${service} publishes fixed host port(s) ${cfg.fixedHostPorts.join(", ")}, which two containers cannot share`,
      "route through Traefik instead of publishing the port (or publish without a host port)",
    );
  }
  // Old and new containers side by side need their own network namespaces on a network
  // Traefik reaches: the host's (or another container's) would make them fight over the port.
  const mode = cfg.networkMode;
  if (mode && (mode === "host" || mode === "none" || /^(container|service):/.test(mode))) {
    throw new RefusedError(
      `service ${service} sets network_mode: ${mode}, so a second container cannot listen beside it${mode === "none" ? " (nor can Traefik reach it)" : ""}`,
      "remove network_mode and put the service on a network Traefik shares",
    );
  }
}

/**
 * `docker compose config` prints a literal `$` as `$$` (its output stays valid input), so
 * the x-compose-roll values it printed are read back with `$$` → `$`.
 */
function unescaped(v: unknown): unknown {
  if (typeof v === "string") return v.replaceAll("$$", "$");
  if (Array.isArray(v)) return v.map(unescaped);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unescaped(x)]));
  return v;
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
