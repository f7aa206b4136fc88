// Finds the compose project and service the way `docker compose` does, and refuses a
// service that cannot run two containers side by side. Files are optional: a CI job
// that only knows `-p` and the service (say, `undo` at 3 a.m.) goes by labels alone.
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { parse } from "yaml";
import { RefusedError } from "../controller/errors.js";

/** Compose's default file names, in its order of preference. */
export const DEFAULT_FILES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];

export interface ProjectInput {
  files: string[];
  projectName?: string;
  cwd: string;
  env: Record<string, string | undefined>;
}

export interface ServiceConfig {
  containerName?: string;
  /** Published ports with a fixed host port, as written. */
  fixedHostPorts: string[];
  /** deploy.replicas or scale, when set. */
  replicas?: number;
}

export interface Project {
  name: string;
  /** Absolute paths of the compose files read; empty when none were found. */
  files: string[];
  services: Record<string, ServiceConfig>;
}

export function loadProject(input: ProjectInput): Project {
  const files = findFiles(input);
  const docs = files.map((f) => readCompose(f));
  const services: Record<string, ServiceConfig> = {};
  for (const doc of docs) {
    for (const [name, raw] of Object.entries(asRecord(doc.services))) {
      services[name] = { ...services[name], ...serviceConfig(asRecord(raw)) } as ServiceConfig;
    }
  }
  const topName = docs.map((d) => d.name).find((n): n is string => typeof n === "string");
  const rawName =
    input.projectName ??
    input.env.COMPOSE_PROJECT_NAME ??
    topName ??
    basename(files[0] ? dirname(files[0]) : input.cwd);
  return { name: normalizeProjectName(rawName), files, services };
}

/** -f flags, else COMPOSE_FILE, else the first default file in the working directory. */
function findFiles(input: ProjectInput): string[] {
  const given = input.files.length > 0 ? input.files : splitComposeFile(input.env);
  if (given.length > 0) {
    const paths = given.map((f) => resolve(input.cwd, f));
    const missing = paths.find((p) => !existsSync(p));
    if (missing) throw new RefusedError(`compose file not found: ${missing}`, "check -f / COMPOSE_FILE");
    return paths;
  }
  const found = DEFAULT_FILES.map((f) => resolve(input.cwd, f)).find((p) => existsSync(p));
  return found ? [found] : [];
}

function splitComposeFile(env: ProjectInput["env"]): string[] {
  const v = env.COMPOSE_FILE;
  if (!v) return [];
  return v.split(env.COMPOSE_PATH_SEPARATOR ?? ":").filter(Boolean);
}

function readCompose(path: string): Record<string, unknown> {
  try {
    return asRecord(parse(readFileSync(path, "utf8")));
  } catch (err) {
    throw new RefusedError(`cannot read compose file ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
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
  if (typeof raw.container_name === "string") cfg.containerName = raw.container_name;
  const replicas = asRecord(raw.deploy).replicas ?? raw.scale;
  if (typeof replicas === "number") cfg.replicas = replicas;
  return cfg;
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
    const published = asRecord(p).published;
    return published !== undefined && published !== "" ? [JSON.stringify(p)] : [];
  });
}

/** What makes a service impossible to run twice, said before anything changes. */
export function checkRollable(project: Project, service: string): void {
  if (project.files.length === 0) return; // labels-only mode: the engine checks what it can
  const cfg = project.services[service];
  if (!cfg) {
    const known = Object.keys(project.services).join(", ") || "none";
    throw new RefusedError(`no service ${service} in ${project.files.join(", ")} (services: ${known})`);
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
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
