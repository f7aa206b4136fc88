// A bounded load probe: several clients sending requests through Traefik while a rollout
// runs, to count what users would see. It mixes the cases where requests get lost:
// fresh connections, keep-alive connections that outlive a backend, and slow requests
// still in flight while their container drains. Loopback only, capped in count and time.
import http from "node:http";

export interface ProbeOptions {
  /** Base URL of Traefik's entrypoint, e.g. http://127.0.0.1:8000 */
  url: string;
  /** Clients on keep-alive connections (reused across requests). */
  keepAliveClients?: number;
  /** Clients opening a fresh connection per request. */
  freshClients?: number;
  /** Clients sending /slow/?ms=… requests. */
  slowClients?: number;
  slowMs?: number;
  /** Hard caps: the probe stops by itself at either. */
  maxSeconds?: number;
  maxRequests?: number;
  /**
   * A request that takes longer than this (beyond a slow request's own sleep) counts as failed:
   * a user who waits 5 s for a page has been let down, whether or not it arrives.
   */
  slowLimitMs?: number;
  /** Per-request timeout: a hung request is cut off here (and counts as failed). */
  timeoutMs?: number;
  /** Paths the keep-alive and fresh clients take in turn (default: `/` only). */
  paths?: string[];
  /**
   * Most requests a second the keep-alive and fresh clients send together: each client keeps its
   * share of the schedule, never bursting to catch up. By default LOAD_PROBE_RATE if set
   * (the e2e suite's setting: see vitest.config.ts), else as fast as they are answered.
   */
  rate?: number;
}

export interface Sample {
  at: number;
  ms: number;
  status: number;
  kind: "keepalive" | "fresh" | "slow";
  release?: string;
  hostname?: string;
  error?: string;
}

export interface ProbeReport {
  sent: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
  /** Failures, first few, for the test's message. */
  failures: Sample[];
  /** Releases answered, in order of first appearance. */
  releases: string[];
  lastRelease?: string;
  samples: Sample[];
}

export class LoadProbe {
  private readonly samples: Sample[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private t0 = 0;
  private readonly keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly opts: Required<ProbeOptions>;

  constructor(opts: ProbeOptions) {
    this.opts = {
      keepAliveClients: 4,
      freshClients: 2,
      slowClients: 2,
      slowMs: 1500,
      maxSeconds: 600,
      maxRequests: 500_000,
      slowLimitMs: 5_000,
      timeoutMs: 30_000,
      paths: ["/"],
      rate: Number(process.env.LOAD_PROBE_RATE ?? 0) || 0,
      ...opts,
    };
  }

  start(): this {
    this.running = true;
    this.t0 = performance.now();
    const o = this.opts;
    const spawn = (n: number, kind: Sample["kind"]) => {
      for (let i = 0; i < n; i++) this.loops.push(this.loop(kind));
    };
    spawn(o.keepAliveClients, "keepalive");
    spawn(o.freshClients, "fresh");
    spawn(o.slowClients, "slow");
    return this;
  }

  /** Stops sending, waits for requests in flight, and summarises. */
  async stop(): Promise<ProbeReport> {
    this.running = false;
    await Promise.all(this.loops);
    this.keepAlive.destroy();
    return summarize(this.samples, (performance.now() - this.t0) / 1000);
  }

  private within(): boolean {
    const o = this.opts;
    return (
      this.running &&
      this.samples.length < o.maxRequests &&
      (performance.now() - this.t0) / 1000 < o.maxSeconds
    );
  }

  private async loop(kind: Sample["kind"]): Promise<void> {
    const paths = this.opts.paths;
    let next = performance.now();
    for (let i = 0; this.within(); i++) {
      const path = kind === "slow" ? `/slow/?ms=${this.opts.slowMs}` : (paths[i % paths.length] as string);
      const agent = kind === "fresh" ? new http.Agent({ keepAlive: false }) : this.keepAlive;
      const started = performance.now();
      this.samples.push(await this.once(path, agent, kind));
      if (kind !== "slow") next = await this.paced(next);
      // A slow request answered at once (a 404 or 502 while nothing serves) must not turn its
      // client into the fastest one: one slow request per slowMs at most.
      else
        await new Promise((r) => setTimeout(r, Math.max(0, started + this.opts.slowMs - performance.now())));
    }
  }

  /** Waits for this client's next slot under `rate`; returns the slot after it. */
  private async paced(next: number): Promise<number> {
    const o = this.opts;
    if (!(o.rate > 0)) return next;
    const every = (1000 * Math.max(1, o.keepAliveClients + o.freshClients)) / o.rate;
    const at = Math.max(next + every, performance.now());
    await new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));
    return at;
  }

  private once(path: string, agent: http.Agent, kind: Sample["kind"]): Promise<Sample> {
    const started = performance.now();
    const at = (started - this.t0) / 1000;
    const limit = this.opts.slowLimitMs + (kind === "slow" ? this.opts.slowMs : 0);
    return new Promise((resolve) => {
      const done = (s: Omit<Sample, "at" | "ms" | "kind">) => {
        const ms = performance.now() - started;
        const late =
          s.error === undefined && ms > limit ? { error: `took ${Math.round(ms)} ms (limit ${limit})` } : {};
        resolve({ at, ms, kind, ...s, ...late });
      };
      const req = http.get(new URL(path, this.opts.url), { agent, timeout: this.opts.timeoutMs }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          try {
            const j = JSON.parse(body) as { release?: string; hostname?: string };
            done({
              status,
              ...(j.release ? { release: j.release } : {}),
              ...(j.hostname ? { hostname: j.hostname } : {}),
            });
          } catch {
            done({ status, error: status === 200 ? "non-JSON body" : body.slice(0, 80) });
          }
        });
        res.on("error", (e) => done({ status: 0, error: e.message }));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e) => done({ status: 0, error: e.message }));
    });
  }
}

/** What users would call a failure: anything but a 200, or an error (a timeout, a cut connection). */
export const isFailure = (s: Sample): boolean => s.status !== 200 || s.error !== undefined;

export function summarize(samples: Sample[], seconds: number): ProbeReport {
  const failures = samples.filter(isFailure);
  // Latency of the fast requests; slow ones sleep on purpose.
  const lat = samples
    .filter((s) => s.kind !== "slow")
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  const pct = (p: number) =>
    lat.length ? (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] as number) : 0;
  const releases: string[] = [];
  for (const s of samples) if (s.release && !releases.includes(s.release)) releases.push(s.release);
  const ok = samples.filter((s) => s.release).sort((a, b) => a.at - b.at);
  const report: ProbeReport = {
    sent: samples.length,
    failed: failures.length,
    p50: round(pct(0.5)),
    p99: round(pct(0.99)),
    max: round(lat.at(-1) ?? 0),
    seconds: round(seconds),
    failures: failures.slice(0, 10),
    releases,
    samples,
  };
  const last = ok.at(-1)?.release;
  if (last) report.lastRelease = last;
  return report;
}

const round = (n: number) => Math.round(n * 10) / 10;

export function formatReport(r: ProbeReport): string {
  return `requests sent ${r.sent}, failed ${r.failed}, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms over ${r.seconds} s`;
}
