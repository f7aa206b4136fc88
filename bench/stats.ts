// The benchmark's arithmetic, pure: what one run's samples and events amount to. Kept apart
// from the processes and containers so each figure has a worked example (stats.test.ts).

/** One request of the load generator (bench/load.ts). */
export interface Sample {
  /** Epoch ms the request was sent. */
  t: number;
  /** Latency in ms (until the answer, or the error). */
  ms: number;
  /** HTTP status; 0 = no answer (refused, reset, timeout). */
  s: number;
  /** k = keep-alive, f = fresh connection, s = slow request. */
  k: "k" | "f" | "s";
  /** The release that answered (the demo app names it), when it did. */
  r?: string;
  /** Error code when s = 0. */
  e?: string;
}

export interface Summary {
  sent: number;
  failed: number;
  failed_5xx: number;
  failed_conn: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Nearest-rank percentile of ascending `sorted`: p99 of 200 values is the 198th. 0 when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export const isFailure = (x: Sample): boolean => x.s === 0 || x.s >= 500;

/**
 * Counts and latency of the samples sent in [from, to). Latency is that of the ordinary
 * requests (failures included): the deliberately slow ones (3% at 1 s) would otherwise be
 * the p99 by construction. They count in sent and failed like the rest.
 */
export function summarize(samples: Sample[], from = -Infinity, to = Infinity): Summary {
  const w = samples.filter((x) => x.t >= from && x.t < to);
  const lat = w
    .filter((x) => x.k !== "s")
    .map((x) => x.ms)
    .sort((a, b) => a - b);
  const f5 = w.filter((x) => x.s >= 500).length;
  const fc = w.filter((x) => x.s === 0).length;
  return {
    sent: w.length,
    failed: f5 + fc,
    failed_5xx: f5,
    failed_conn: fc,
    p50_ms: round1(percentile(lat, 50)),
    p99_ms: round1(percentile(lat, 99)),
    max_ms: round1(lat.at(-1) ?? 0),
  };
}

/** Failures by cause: HTTP status or error code, e.g. { "502": 3, ECONNRESET: 1 }. */
export function causes(samples: Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of samples.filter(isFailure)) {
    const key = x.s === 0 ? (x.e ?? "error") : String(x.s);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/**
 * Seconds from `start` until every replica serves the new release, as users see it: the send
 * time of the last request the old release answered, after `start`. 0 when none did.
 *   start 1000, old answers sent at 900, 1500, 4200 → 3.2
 */
export function untilAllNew(samples: Sample[], oldRelease: string, start: number): number {
  let last = start;
  for (const x of samples) if (x.r === oldRelease && x.t > last) last = x.t;
  return round1((last - start) / 1000);
}

/** The compose-roll events the overhead needs (its --json lines). */
export interface RollEvent {
  time: string;
  type: string;
  state?: string;
  name?: string;
  detail?: string;
}

/**
 * Issue 12's overhead: rollout wall time − Σ(new containers' create→healthy) − one drain.
 * Wall time runs from the `start` event to `done`; a container's create→healthy from the
 * start of its create (the `adding` event minus the "created in N ms" it reports) to its
 * `healthy` event.
 *   start 0 s, web-4 created 0.5–1.0 s, healthy 4.0 s; done 8.0 s; drain 3 s
 *   → boot 3.5 s, overhead 8.0 − 3.5 − 3.0 = 1.5 s
 */
export function overhead(
  events: RollEvent[],
  drainMs: number,
): { wall_s: number; boot_s: number; overhead_s: number } {
  const at = (e: RollEvent | undefined) => (e ? Date.parse(e.time) : Number.NaN);
  const wall = at(events.find((e) => e.type === "done")) - at(events.find((e) => e.type === "start"));
  let boot = 0;
  for (const add of events.filter((e) => e.type === "replica" && e.state === "adding")) {
    const created = Number(/created in (\d+) ms/.exec(add.detail ?? "")?.[1] ?? 0);
    const healthy = events.find((e) => e.type === "replica" && e.state === "healthy" && e.name === add.name);
    boot += at(healthy) - (at(add) - created);
  }
  return {
    wall_s: round1(wall / 1000),
    boot_s: round1(boot / 1000),
    overhead_s: round1((wall - boot - drainMs) / 1000),
  };
}

/**
 * Where a compose-roll rollout's time went: each stretch between consecutive events, named by
 * the event that ends it (background `removed` events skipped), as `npm run demo` prints it:
 * healthy = booting, routed = probe + the one Traefik write, adding = creating the next
 * container, done = the last drain and stop. Plus `stop_s`: each old container's draining →
 * removed (in the background, except the last).
 *   start 0, adding 1, healthy 4, routed 4.5, draining 4.5, done 9 → adding 1, healthy 3,
 *   routed 0.5, draining 0, done 4.5
 */
export function phases(events: RollEvent[]): Record<string, number> {
  const at = (e: RollEvent | undefined) => (e ? Date.parse(e.time) : Number.NaN);
  const steps = events.filter((e) => e.type !== "compose" && e.type !== "pull" && e.state !== "removed");
  const from = steps.findIndex((e) => e.type === "start");
  const out: Record<string, number> = {};
  for (let i = Math.max(1, from + 1); i < steps.length; i++) {
    const e = steps[i] as RollEvent;
    const key = e.type === "replica" ? String(e.state) : e.type;
    out[key] = round1((out[key] ?? 0) + (at(e) - at(steps[i - 1])) / 1000);
  }
  const stops = events
    .filter((e) => e.state === "removed")
    .map((e) => at(e) - at(events.find((d) => d.state === "draining" && d.name === e.name)));
  out.stop_max_s = round1(Math.max(0, ...stops.filter((x) => !Number.isNaN(x))) / 1000);
  return out;
}

export interface Bin {
  /** Seconds from the rollout's start (bin start). */
  t: number;
  sent: number;
  errors: number;
  p99_ms: number;
  max_ms: number;
}

/** Samples in bins of `binMs`, timed from `start`, for the plot. */
export function timeline(samples: Sample[], start: number, binMs: number): Bin[] {
  const bins = new Map<number, Sample[]>();
  for (const x of samples) {
    const i = Math.floor((x.t - start) / binMs);
    const b = bins.get(i) ?? [];
    b.push(x);
    bins.set(i, b);
  }
  return [...bins.keys()]
    .sort((a, b) => a - b)
    .map((i) => {
      const s = summarize(bins.get(i) ?? []);
      return { t: (i * binMs) / 1000, sent: s.sent, errors: s.failed, p99_ms: s.p99_ms, max_ms: s.max_ms };
    });
}

/** The median of `xs` (mean of the middle two when even); NaN when empty. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
