// The bake's judgement: after a new replica is routed, its real traffic (as Traefik's access
// log saw it) against the old replicas' in the same seconds. Pure: figures in, a verdict out.
// The loop that samples and waits is app/bake.ts; the reading of the log is traefik/.

/** What Traefik logged for one server in one second. */
export interface Second {
  requests: number;
  /** Answers with status ≥ 500, Traefik's own 502/504 included. */
  errors: number;
  /** Of those, Traefik's 502/504: it could not get an answer from the server at all. */
  failures: number;
  /** Request durations in ms (a bounded sample of that second's). */
  latencies: number[];
}

/** One server's seconds, keyed by the log's own clock (Unix seconds). */
export type Series = ReadonlyMap<number, Second>;

export interface Figures {
  requests: number;
  errors: number;
  failures: number;
  /** The 99th percentile duration in ms; undefined without requests. */
  p99: number | undefined;
  /** The median duration in ms (undefined without requests, or where not measured). */
  p50?: number | undefined;
}

export interface Thresholds {
  /** Percentage points the new replicas' 5xx rate may exceed the old ones' by. */
  maxErrorRate: number;
  /** How many times the old replicas' p99 the new ones' may reach. */
  maxLatencyRatio: number;
  /** An absolute p99 ceiling in ms for the new replicas; undefined: none. */
  maxP99Ms?: number;
  /** Requests the new replicas must have answered before anything is judged. */
  minRequests: number;
}

/**
 * Below this, a p99 difference is scheduling noise, not a slower release: on a loaded 2-core
 * host a 3 ms p99 turns 9 ms at random, a ratio of 3 that no user notices.
 */
export const LATENCY_FLOOR_MS = 25;

export type Verdict =
  | { kind: "ok"; line: string; fresh: Figures; old: Figures; seconds: number }
  | { kind: "breach"; line: string; fresh: Figures; old: Figures; seconds: number }
  | { kind: "not-enough-data"; line: string; fresh: Figures; old: Figures; seconds: number };

/** The seconds in which the new servers answered, complete ones only (before `before`). */
export function windowOf(fresh: Series[], before: number): number[] {
  const seen = new Set<number>();
  for (const s of fresh) for (const sec of s.keys()) if (sec < before) seen.add(sec);
  if (seen.size === 0) return [];
  const first = Math.min(...seen);
  const out: number[] = [];
  for (let s = first; s < before; s++) out.push(s);
  return out;
}

/** Adds up `seconds` of every server in `series`. */
export function figuresOf(series: Series[], seconds: number[]): Figures {
  let requests = 0;
  let errors = 0;
  let failures = 0;
  const latencies: number[] = [];
  for (const s of series) {
    for (const sec of seconds) {
      const b = s.get(sec);
      if (!b) continue;
      requests += b.requests;
      errors += b.errors;
      failures += b.failures;
      for (const l of b.latencies) latencies.push(l);
    }
  }
  return { requests, errors, failures, p99: quantile(latencies, 0.99), p50: quantile(latencies, 0.5) };
}

/** Nearest-rank quantile: the smallest sample with at least q of the samples at or below it. */
export function quantile(samples: number[], q: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

export interface Names {
  /** The new replica(s), e.g. "web-4 (v2)". */
  fresh: string;
  /** The old image, e.g. "v1". */
  oldImage: string;
}

const pct = (n: number, d: number) => (d === 0 ? 0 : (100 * n) / d);
const one = (x: number) => x.toFixed(1);
const ms = (x: number | undefined) => (x === undefined ? "-" : `${Math.round(x)} ms`);

/**
 * The verdict on the new replicas against the old in the same `seconds`:
 *   new 5xx 18.2 % of 612, old 0.1 % of 5,400, margin 5 → breach (18.1 points above).
 *   new p99 240 ms, old 40 ms, ratio 2 → breach (6.0×); new 9 ms, old 3 ms → ok (under the floor).
 *   new 12 requests, min 50 → not-enough-data, whatever they show.
 * With no old requests in those seconds, the new ones are held to a 0 % rate and the ceiling.
 */
export function judge(
  fresh: Figures,
  old: Figures,
  t: Thresholds,
  names: Names,
  seconds: number,
  /** Only the 5xx rate: latency waits for the whole bake (see app/bake.ts). */
  errorsOnly = false,
): Verdict {
  const base = { fresh, old, seconds };
  const where = `in the same ${seconds} s`;
  if (fresh.requests < t.minRequests) {
    return {
      kind: "not-enough-data",
      line: `${names.fresh}: ${fresh.requests} requests ${where}, fewer than --min-requests ${t.minRequests}; not judged`,
      ...base,
    };
  }
  const newRate = pct(fresh.errors, fresh.requests);
  const oldRate = pct(old.errors, old.requests);
  if (newRate - oldRate > t.maxErrorRate) {
    const failed = fresh.failures > 0 ? ` (${fresh.failures} could not connect)` : "";
    return {
      kind: "breach",
      line: `${names.fresh}: 5xx ${one(newRate)} % of ${fresh.requests} requests${failed} vs ${one(oldRate)} % on ${names.oldImage} ${where}`,
      ...base,
    };
  }
  if (errorsOnly) return { kind: "ok", line: okLine(fresh, old, names, where), ...base };
  if (t.maxP99Ms !== undefined && fresh.p99 !== undefined && fresh.p99 > t.maxP99Ms) {
    return {
      kind: "breach",
      line: `${names.fresh}: p99 ${ms(fresh.p99)} over --max-p99 ${ms(t.maxP99Ms)} (${ms(old.p99)} on ${names.oldImage}) ${where}`,
      ...base,
    };
  }
  const ratio = `over --max-latency-ratio ${t.maxLatencyRatio}`;
  if (slower(fresh.p99, old.p99, old, t)) {
    const [f, o] = [fresh.p99 as number, old.p99 as number];
    return {
      kind: "breach",
      line: `${names.fresh}: p99 ${ms(f)} vs ${ms(o)} on ${names.oldImage} ${where} (${one(f / o)}×, ${ratio})`,
      ...base,
    };
  }
  // The median too: on a saturated host the p99 of both sides is queueing (1-2 s for a 3 ms
  // page at load 60), and a release 5x slower in every request shows in its median first.
  if (slower(fresh.p50, old.p50, old, t)) {
    const [f, o] = [fresh.p50 as number, old.p50 as number];
    return {
      kind: "breach",
      line: `${names.fresh}: median ${ms(f)} vs ${ms(o)} on ${names.oldImage} ${where} (${one(f / o)}×, ${ratio}; p99 ${ms(fresh.p99)} vs ${ms(old.p99)})`,
      ...base,
    };
  }
  return { kind: "ok", line: okLine(fresh, old, names, where), ...base };
}

/** A quantile of the new side over the ratio times the old one's, and by the floor or more. */
function slower(f: number | undefined, o: number | undefined, old: Figures, t: Thresholds): boolean {
  if (f === undefined || o === undefined || old.requests === 0) return false;
  return f > o * t.maxLatencyRatio && f - o >= LATENCY_FLOOR_MS;
}

function okLine(fresh: Figures, old: Figures, names: Names, where: string): string {
  const rate = (f: Figures) => one(pct(f.errors, f.requests));
  return `${names.fresh}: 5xx ${rate(fresh)} % of ${fresh.requests} requests, p99 ${ms(fresh.p99)} vs ${rate(old)} %, ${ms(old.p99)} on ${names.oldImage} ${where}`;
}

/**
 * The weights that give the first new server `percent` of the traffic among `old` servers of
 * equal weight: new p·N against (100 − p) each, so its share is p·N / (p·N + N·(100 − p)) = p %.
 *   10 % among 3 old → new 30, old 90 each: 30 / 300.
 */
export function canaryWeights(fresh: string, old: string[], percent: number): Record<string, number> {
  const n = Math.max(1, old.length);
  const out: Record<string, number> = { [fresh]: Math.max(1, Math.round(percent * n)) };
  for (const u of old) out[u] = Math.max(1, Math.round(100 - percent));
  return out;
}
