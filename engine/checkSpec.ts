// Parsers for --warmup and --smoke. Pure: the text the user gave → a spec, or a
// RefusedError (exit 2) naming the flag, the value as given and what to give instead. They
// live in engine/ beside the runner (engine/checks.ts) rather than in cli/, which may import
// engine but not the other way round; cli/options.ts calls them like its own parsers.
import { RefusedError } from "../controller/errors.js";

/** `--warmup <path>[x<count>]`: `count` GETs to `path` before the container takes traffic. */
export interface WarmupSpec {
  path: string;
  count: number;
}

/** `--smoke <path>=<text>`: GET `path` must answer 2xx with a body containing `expect`. */
export interface SmokeSpec {
  path: string;
  expect: string;
}

/** Requests per --warmup without `x<count>`: enough to start a few workers' lazy imports and caches. */
export const DEFAULT_WARMUP_COUNT = 10;
/** Beyond this a warm-up is a load test, which no rollout should run against its own new container. */
export const MAX_WARMUP_COUNT = 1000;
// Long enough for any real route; a path past it is a pasted body or a mistake. The request
// line carries it, and servers refuse request lines past 4-8 KiB anyway.
const MAX_PATH = 2048;

const quoted = (value: string): string => JSON.stringify(value);
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const BAD_PATH_CHAR = /[\s\u0000-\u001f\u007f]/;

/**
 * A path that can go as is into an HTTP request line: starts with /, no blanks or controls.
 * The one rule for warm-up, smoke and the live probe's path (cli/validate.ts checkProbePath).
 */
export function isRequestPath(path: string): boolean {
  return path.startsWith("/") && !BAD_PATH_CHAR.test(path);
}

function checkPath(path: string, text: string, what: string, example: string): string {
  if (!isRequestPath(path) || path.length > MAX_PATH) {
    throw new RefusedError(
      `${what}: ${quoted(text)} does not start with a URL path`,
      `give a path starting with /, without blanks (percent-encode them), at most ${MAX_PATH} characters, e.g. ${example}`,
    );
  }
  return path;
}

/**
 * "/path" → 10 requests, "/pathx50" → 50. The LAST `x<digits>` is the count, so a path that
 * itself ends in x and digits ("/items/x42") takes an explicit count: "/items/x42x10".
 */
export function parseWarmup(text: string, what: string): WarmupSpec {
  const m = /^(.*)x(\d+)$/s.exec(text);
  const path = checkPath(m ? (m[1] as string) : text, text, what, "/ or /api/itemsx50");
  if (!m) return { path, count: DEFAULT_WARMUP_COUNT };
  const count = Number(m[2]);
  if (count < 1 || count > MAX_WARMUP_COUNT) {
    throw new RefusedError(
      `${what}: ${quoted(text)} asks for ${m[2]} requests; the count must be from 1 to ${MAX_WARMUP_COUNT}`,
      `give e.g. ${path}x${DEFAULT_WARMUP_COUNT} (x${DEFAULT_WARMUP_COUNT} is the default), or end the path with x1 if ${quoted(`x${m[2]}`)} is part of it`,
    );
  }
  return { path, count };
}

/**
 * "/version=v2": the first "=" splits, so the expected text may hold "=" and the path may
 * not (a query string like /v?f=json cannot be smoke-checked; its answer is the same route).
 */
export function parseSmoke(text: string, what: string): SmokeSpec {
  const at = text.indexOf("=");
  const example = "/version=v2";
  if (at < 0) {
    throw new RefusedError(
      `${what}: ${quoted(text)} has no "=" between the path and the text its answer must contain`,
      `give <path>=<expected text>, e.g. ${example}`,
    );
  }
  const path = checkPath(text.slice(0, at), text, what, example);
  const expect = text.slice(at + 1);
  if (expect === "") {
    throw new RefusedError(
      `${what}: ${quoted(text)} has nothing after "=" to look for in the answer`,
      `give the text the new version's answer contains, e.g. ${example}`,
    );
  }
  return { path, expect };
}

/** The text parseWarmup reads back to the same spec (the count always spelled out). */
export const formatWarmup = (w: WarmupSpec): string => `${w.path}x${w.count}`;
/** The text parseSmoke reads back to the same spec. */
export const formatSmoke = (s: SmokeSpec): string => `${s.path}=${s.expect}`;
