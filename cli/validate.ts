// The checks on names and text values that parseOptions (cli/options.ts) runs besides its
// parsers, and the ones only the routing mode can decide. Every refusal names the input as
// the user gave it (quoted as JSON, so a newline or a control character stays on the one
// line) and says what to give instead.
import { RefusedError } from "../controller/errors.js";
import { isRequestPath } from "../engine/checkSpec.js";

/** A value as refusals quote it: JSON, so "\n", "\u0000" and quotes print visibly on one line. */
export const shown = (value: string): string => JSON.stringify(value);

// Docker's own rule for container, network and volume names (daemon/names.RestrictedNamePattern);
// compose services and Traefik services use the same characters (Traefik reserves "@").
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// Compose's rule for project names (loader.NormalizeProjectName refuses anything else for -p).
const PROJECT = /^[a-z0-9][a-z0-9_-]*$/;

const NAMED = {
  network: "name a Docker network the containers are on (`docker network ls`)",
  traefikService: "name the service as Traefik's file does, without @provider",
} as const;

export function checkName(text: string, what: string, key: keyof typeof NAMED): string {
  if (!NAME.test(text) || text.length > 255) {
    throw new RefusedError(`${what}: ${shown(text)} is not a valid name`, NAMED[key]);
  }
  return text;
}

export function checkService(service: string): string {
  if (!NAME.test(service)) {
    throw new RefusedError(
      `${shown(service)} is not a valid compose service name`,
      "name a service of the compose file (`docker compose config --services` lists them)",
    );
  }
  return service;
}

export function checkProjectName(text: string, what: string): string {
  if (!PROJECT.test(text)) {
    throw new RefusedError(
      `${what}: ${shown(text)} is not a compose project name`,
      "use lowercase letters, digits, - and _, starting with a letter or digit (as `docker compose ls` shows it)",
    );
  }
  return text;
}

/** The path of the live probe: sent as is in an HTTP request line, so no blanks or controls. */
export function checkProbePath(text: string, what: string): string {
  if (!isRequestPath(text)) {
    throw new RefusedError(
      `${what}: ${shown(text)} is not a URL path`,
      "give a path starting with /, without blanks (percent-encode them), e.g. /healthz",
    );
  }
  return text;
}

/** The whole-number options: how far they go, and what to give instead. */
const COUNTS = {
  maxSurge: [100, "boot 1 (the default) to a few new containers side by side"],
  historyLimit: [1000, "keep 10 (the default) or so: each revision is a container record on the Docker host"],
  toRevision: [1_000_000, "give a revision number `compose-roll history` lists"],
  port: [65535, "give the container port the app listens on, e.g. 8000"],
} as const;

export function wholeNumber(text: string, what: string, key: keyof typeof COUNTS): number {
  const [max, hint] = COUNTS[key];
  // Number() alone would take "0x10", "1e2" and " " (as 16, 100 and 0).
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new RefusedError(`${what}: ${shown(text)} must be a whole number from 1 to ${max}`, hint);
  }
  return n;
}

/** A timeout of zero would fail every rollout at its first wait, and roll it back. */
export function atLeast(ms: number, min: number, text: string, what: string): number {
  if (ms < min) {
    throw new RefusedError(
      `${what}: ${shown(text)} is too short to wait for anything`,
      `give at least ${min >= 1000 ? `${min / 1000}s` : `${min}ms`}`,
    );
  }
  return ms;
}

/** The flags that only label mode reads: given for a service routed by a file, they are a mistake. */
const LABEL_ONLY = [
  ["drainFile", "--drain-file"],
  ["drainCommand", "--drain-command"],
  ["allowUnsafeDrain", "--allow-unsafe-drain"],
] as const;

export function checkModeFlags(
  mode: "file" | "labels",
  flags: { drainFile?: string; drainCommand?: string; allowUnsafeDrain?: boolean },
  service: string,
): void {
  if (mode !== "file") return;
  const given = LABEL_ONLY.find(([key]) => flags[key] !== undefined);
  if (given) {
    throw new RefusedError(
      `${given[1]} applies to label mode only, and ${service} is routed by compose-roll's Traefik file (file mode), which drains by taking servers out of the file`,
      `drop ${given[1]}, or route the service by traefik.* labels`,
    );
  }
}
