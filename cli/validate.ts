// The checks on names and text values that parseOptions (cli/options.ts) runs besides its
// parsers, and the ones only the routing mode can decide. Every refusal names the input as
// the user gave it (quoted as JSON, so a newline or a control character stays on the one
// line) and says what to give instead.
import { RefusedError } from "../controller/errors.js";

/** A value as refusals quote it: JSON, so "\n", "\u0000" and quotes print visibly on one line. */
export const shown = (value: string): string => JSON.stringify(value);

// Docker's own rule for container, network and volume names (daemon/names.RestrictedNamePattern);
// compose services and Traefik services use the same characters (Traefik reserves "@").
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// Compose's rule for project names (loader.NormalizeProjectName refuses anything else for -p).
const PROJECT = /^[a-z0-9][a-z0-9_-]*$/;

export function checkName(text: string, what: string, hint: string): string {
  if (!NAME.test(text) || text.length > 255) {
    throw new RefusedError(`${what}: ${shown(text)} is not a valid name`, hint);
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
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (!text.startsWith("/") || /[\s\u0000-\u001f\u007f]/.test(text)) {
    throw new RefusedError(
      `${what}: ${shown(text)} is not a URL path`,
      "give a path starting with /, without blanks (percent-encode them), e.g. /healthz",
    );
  }
  return text;
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
