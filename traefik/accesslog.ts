// Traefik's JSON access log (--accesslog=true --accesslog.format=json), read for the bake:
// one line per request naming the server that answered (ServiceURL), its status and its
// duration. Field names from Traefik's pkg/middlewares/accesslog (logdata.go); Duration is
// nanoseconds (a Go time.Duration), StartUTC an RFC 3339 time with nanoseconds.
//
// Traefik answers a request it could not get through to the server with its own 502 (could
// not connect) or 504 (no answer in time), and logs it with that status as OriginStatus as
// well (checked on 3.7: a refused connection logs OriginStatus 502, "Bad Gateway"): the log
// cannot tell them from an app's own 502/504, so both count as connection failures.
import { z } from "zod";
import type { Second, Series } from "../controller/bake.js";

const Line = z.object({
  ServiceURL: z.string().min(1),
  DownstreamStatus: z.number().int().min(0).max(999),
  OriginStatus: z.number().int().min(0).max(999).optional(),
  Duration: z.number().nonnegative(),
  StartUTC: z.string(),
  ServiceName: z.string().optional(),
});

/** compose-roll's own probe of a new server (traefik/file.ts probeName): not user traffic. */
const PROBE_SERVICE = /-compose-roll-probe(@|$)/;

export interface Request {
  url: string;
  /** Unix second the request started in (the log's clock). */
  second: number;
  status: number;
  /** Traefik's own 502/504, or no status from the server at all. */
  failed: boolean;
  ms: number;
}

/** One access-log line as a request; undefined for anything else (Traefik's own log lines, a router with no server). */
export function parseLine(line: string): Request | undefined {
  const start = line.indexOf("{");
  if (start < 0) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line.slice(start));
  } catch {
    return undefined;
  }
  const r = Line.safeParse(raw);
  if (!r.success || PROBE_SERVICE.test(r.data.ServiceName ?? "")) return undefined;
  const at = Date.parse(r.data.StartUTC);
  if (!Number.isFinite(at)) return undefined;
  const status = r.data.DownstreamStatus;
  const origin = r.data.OriginStatus;
  return {
    url: r.data.ServiceURL.replace(/\/$/, ""),
    second: Math.floor(at / 1000),
    status,
    failed: status === 502 || status === 504 || origin === undefined || origin === 0,
    ms: r.data.Duration / 1e6,
  };
}

export interface StoreLimits {
  /** Seconds kept per server, the newest; older ones are dropped. */
  seconds: number;
  /** Durations kept per server and second (a reservoir sample beyond it). */
  samples: number;
  /** Servers kept; a new one beyond it replaces the one seen least recently. */
  servers: number;
}

/**
 * 64 servers × 600 s × 100 durations: 30 MB at the very worst (every server at 100+ requests a
 * second for 10 minutes). The bake reads a few servers over its own seconds; a p99 over 30 s
 * of a busy server still has thousands of durations.
 */
export const STORE_LIMITS: StoreLimits = { seconds: 600, samples: 100, servers: 64 };

interface Bucket extends Second {
  /** Durations seen (the sample keeps at most `samples` of them). */
  seen: number;
}

/**
 * Per server URL and per second: requests, 5xx, connection failures and a bounded sample of
 * durations (each second's sample counts alike, so a burst second weighs no more in the p99
 * than a quiet one: close enough for a ratio between two sides in the same seconds).
 */
export class TrafficStore {
  private readonly servers = new Map<string, Map<number, Bucket>>();
  private newest: number | undefined;

  constructor(
    private readonly limits: StoreLimits = STORE_LIMITS,
    private readonly random: () => number = Math.random,
  ) {}

  add(r: Request): void {
    let series = this.servers.get(r.url);
    if (!series) {
      if (this.servers.size >= this.limits.servers) {
        const first = this.servers.keys().next().value as string;
        this.servers.delete(first);
      }
      series = new Map();
    } else this.servers.delete(r.url); // re-inserted below: the map's order is recency
    this.servers.set(r.url, series);
    let b = series.get(r.second);
    if (!b) {
      b = { requests: 0, errors: 0, failures: 0, latencies: [], seen: 0 };
      series.set(r.second, b);
      this.trim(series);
    }
    b.requests++;
    if (r.status >= 500) b.errors++;
    if (r.status >= 500 && r.failed) b.failures++;
    b.seen++;
    if (b.latencies.length < this.limits.samples) b.latencies.push(r.ms);
    else {
      // Reservoir sampling: every duration of the second has the same chance to be kept.
      const at = Math.floor(this.random() * b.seen);
      if (at < this.limits.samples) b.latencies[at] = r.ms;
    }
    if (this.newest === undefined || r.second > this.newest) this.newest = r.second;
  }

  series(url: string): Series {
    return this.servers.get(url.replace(/\/$/, "")) ?? new Map();
  }

  latest(): number | undefined {
    return this.newest;
  }

  /** Every server seen, for `status`. */
  urls(): string[] {
    return [...this.servers.keys()];
  }

  private trim(series: Map<number, Bucket>): void {
    if (series.size <= this.limits.seconds) return;
    const oldest = Math.min(...series.keys());
    series.delete(oldest);
  }
}
