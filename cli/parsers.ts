// The parsers for values that are more than a name: durations, URLs, image references, Host
// header values and commands. Each returns the value as the controller needs it, or refuses
// it (exit 2) naming the input as given and saying what to give instead.
import { RefusedError } from "../controller/errors.js";
import { splitWords } from "./shellwords.js";
import { atLeast, shown } from "./validate.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
// Node's timers fire after 1 ms for anything longer than 2^31-1 ms (24.8 days), so a longer
// timeout would silently become no timeout at all.
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** "120s", "2m", "1m30s", "500ms", or a bare number of seconds. */
export function parseDuration(text: string, what: string): number {
  const trimmed = text.trim();
  const t = /^\d+(\.\d+)?$/.test(trimmed) ? `${trimmed}s` : trimmed; // a bare number is seconds
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== t) {
    throw new RefusedError(`${what}: ${shown(text)} is not a duration`, 'use e.g. "90s", "2m" or "500ms"');
  }
  const ms = Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] as string] as number), 0));
  if (!(ms <= MAX_DURATION_MS)) {
    throw new RefusedError(`${what}: ${shown(text)} is longer than 24 days`, "use a shorter duration");
  }
  return ms;
}

/** Traefik's API or entrypoint: an http:// or https:// URL. */
export function httpUrl(text: string, what: string): URL {
  try {
    const u = new URL(text);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
    return u;
  } catch {
    throw new RefusedError(
      `${what}: ${shown(text)} is not an http(s) URL`,
      "give one like http://127.0.0.1:8080",
    );
  }
}

// Docker's reference grammar (github.com/distribution/reference, regexp.go): an optional
// registry host (may hold dots, dashes, uppercase, a port, or be an IPv6 literal), then
// lowercase path components joined by ".", "_", "__" or any run of "-".
const DOMAIN = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const TAG = String.raw`[\w][\w.-]{0,127}`;
const DIGEST = String.raw`[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`;
const NAME = `(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*`;
const IMAGE_REF = new RegExp(`^(?:sha256:[a-f0-9]{12,64}|(${NAME})(?::${TAG})?(?:@${DIGEST})?)$`);

/** A docker image reference: [registry/]name[:tag][@digest], or an image ID. */
export function checkImageRef(ref: string): string {
  const m = IMAGE_REF.exec(ref);
  // Docker caps the name (registry and path) at 255 characters.
  if (!m || (m[1] ?? "").length > 255) {
    throw new RefusedError(
      `--image: ${shown(ref)} is not a valid image reference`,
      "give [registry/]name[:tag][@digest] in lowercase, e.g. registry.example.com/shop/web:v2",
    );
  }
  return ref;
}

/** A Host header value: a DNS name or address, with an optional port; nothing that could split a header. */
export function checkHostName(text: string, what: string): string {
  // Dot-separated labels (none empty, none starting or ending in "-") or a bracketed IPv6
  // address, then an optional port from 1 to 65535.
  const m =
    /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::(\d{1,5}))?$/.exec(
      text,
    );
  const port = m?.[1] === undefined ? undefined : Number(m[1]);
  if (!m || (port !== undefined && (port < 1 || port > 65535))) {
    throw new RefusedError(
      `${what}: ${shown(text)} is not a host name`,
      "give the name your app answers to, e.g. shop.example.com",
    );
  }
  return text;
}

/** A hook: words split like compose's `command:` (no shell), or an argv list as given. */
export function hookArgv(v: string | string[], what: string): string[] {
  if (typeof v === "string") return splitWords(v, what);
  const why =
    v.length === 0
      ? "the list is empty"
      : v.some((w) => typeof w !== "string")
        ? "it holds something other than a string"
        : // biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL cannot be passed in argv
          v.some((w) => /\u0000/.test(w))
          ? "a word holds a NUL character"
          : v[0] === ""
            ? "its program (the first word) is empty"
            : undefined;
  if (why) {
    throw new RefusedError(
      `${what}: ${JSON.stringify(v)} is not a command: ${why}`,
      'give a list of words with the program first, e.g. ["python3", "manage.py", "migrate", "--noinput"]',
    );
  }
  return v;
}

/**
 * An argv for the Engine's exec: a JSON array (`["sh","-c","touch /tmp/drain"]`), or words
 * split on whitespace. Never run through a shell of ours: a shell is the user's to name.
 */
export function parseArgv(text: string, what: string): string[] {
  const t = text.trim();
  let argv: unknown;
  if (t.startsWith("[")) {
    try {
      argv = JSON.parse(t);
    } catch {
      argv = undefined;
    }
  } else argv = t.split(/\s+/).filter(Boolean);
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string" && a !== "")) {
    throw new RefusedError(
      `${what}: ${shown(text)} is not a command`,
      'give words (touch /tmp/maintenance) or a JSON array (["sh","-c","touch /tmp/drain && sleep 2"])',
    );
  }
  return argv as string[];
}

/** A timeout: a duration of at least a second (zero would fail every rollout at its first wait). */
export function parseTimeout(text: string, what: string): number {
  return atLeast(parseDuration(text, what), 1000, text, what);
}

export const GATE = ["off", "warn", "refuse"] as const;
export type Gate = (typeof GATE)[number];

export const PULL = ["missing", "always", "never"] as const;
export type Pull = (typeof PULL)[number];

export function gateOf(text: string, what: string): Gate {
  if ((GATE as readonly string[]).includes(text)) return text as Gate;
  throw new RefusedError(`${what}: ${shown(text)} is not a gate mode`, `use one of ${GATE.join(", ")}`);
}

/** A repeatable value: one string (a flag given once, a scalar in x-compose-roll) or a list. */
export function listOf(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** `--scale web=5`, as `docker compose up --scale`: the service and a count of at least 1. */
export function parseScale(text: string, what: string): { service: string; replicas: number } {
  const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*)=(\d{1,4})$/.exec(text.trim());
  const replicas = Number(m?.[2]);
  if (!m || replicas < 1) {
    throw new RefusedError(
      `${what}: ${shown(text)} is not SERVICE=N with N at least 1`,
      "e.g. --scale web=5 (`docker compose stop web` takes a service down)",
    );
  }
  return { service: m[1] as string, replicas };
}
