// Smoke checks and warm-up for a new replica: run after Docker calls it healthy
// and before it joins Traefik, straight at the container (never through Traefik, which
// would spread them over the old replicas too). A smoke check that fails is a HealthError,
// so the controller rolls the replica back like one that never became healthy; warm-up is
// best effort and fails only when the container does not answer at all.
import { AbortedError, ComposeRollError, HealthError } from "../controller/errors.js";
import type { Clock } from "../controller/ports.js";
import { type HostHttp, HttpFailure, type HttpRequest, type HttpResponse } from "../host/hostio.js";
import type { SmokeSpec, WarmupSpec } from "./checkSpec.js";
import { systemClock } from "./health.js";

export interface CheckTarget {
  /** The container's name, for messages. */
  name: string;
  /** `http://<address>:<port>`, without a path. */
  url: string;
}

export interface ReplicaChecks {
  /** Smoke checks, then warm-up; rejects with HealthError (the replica failed) or AbortedError. */
  run(target: CheckTarget, signal: AbortSignal): Promise<void>;
}

export interface ReplicaChecksOptions {
  http: HostHttp;
  /**
   * The Host header the checks send (--check-host): an app that checks it (Django's
   * ALLOWED_HOSTS) answers 400 to a container's bare address. Default: the address itself.
   */
  host?: string | undefined;
  warmup: readonly WarmupSpec[];
  smoke: readonly SmokeSpec[];
  /**
   * The most ONE check may take: a smoke path with its retries, or all of one --warmup's
   * requests (run() takes at most (smoke + warmup specs) × timeoutMs).
   */
  timeoutMs: number;
  /** One line per check, for the reporter. */
  report: (line: string) => void;
  clock?: Clock;
  /**
   * Maps target.url to one the runner can reach. The controller's URL may name the
   * container by its short ID, which only Docker's DNS answers. Default: as given.
   */
  resolve?: (url: string) => Promise<string>;
}

/** Warm-up requests in flight at once: enough to reach a few workers, too few to load them. */
export const WARMUP_CONCURRENCY = 4;
/** A smoke answer is searched in its first 1 MiB (characters); a version string is near the top. */
export const SMOKE_MAX_BODY = 1 << 20;
/** How much of a wrong answer the failure message quotes. */
const SHOWN_BODY = 120;
// Retries of a refused connection: quick at first (the app is binding its port right now),
// then once a second until the check's timeout.
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1000;

/** Undefined when there is nothing to check, so the caller skips the step (and its events). */
export function replicaChecks(opts: ReplicaChecksOptions): ReplicaChecks | undefined {
  if (opts.warmup.length === 0 && opts.smoke.length === 0) return undefined;
  // `??`, not spread defaults: an option given as undefined must still get its default.
  const o: Run0 = {
    ...opts,
    clock: opts.clock ?? systemClock,
    resolve: opts.resolve ?? (async (u) => u),
    host: opts.host,
  };
  return {
    run: async (target, signal) => {
      const base = (await o.resolve(target.url)).replace(/\/+$/, "");
      const run = { ...o, name: target.name, base, signal };
      // Smoke first: a wrong build must fail before it is warmed (and before it gets any load).
      for (const spec of o.smoke) await smokeCheck(run, spec);
      for (const spec of o.warmup) await warmUp(run, spec);
    },
  };
}

type Run0 = Required<Omit<ReplicaChecksOptions, "host">> & Pick<ReplicaChecksOptions, "host">;
type Run = Run0 & { name: string; base: string; signal: AbortSignal };

const hostHeader = (r: Run) => (r.host ? { headers: { host: r.host } } : {});

async function smokeCheck(r: Run, spec: SmokeSpec): Promise<void> {
  // Concatenated, never new URL(path, base): a path like //other/x would replace the host.
  const url = r.base + spec.path;
  const got = await answer(r, r.clock.now() + r.timeoutMs, {
    url,
    fresh: true,
    maxBody: SMOKE_MAX_BODY,
    ...hostHeader(r),
  });
  const head = `smoke check ${spec.path} on ${r.name}: expected ${JSON.stringify(spec.expect)}, got`;
  if (got instanceof HttpFailure) {
    throw new HealthError(
      `${head} no answer from ${url} within ${seconds(r.timeoutMs)} (${why(got)})`,
      `check that the app listens on the port and network compose-roll addresses (--port, --network); see \`docker logs ${r.name}\``,
    );
  }
  // HostHttp stops collecting once past maxBody, but keeps the whole chunk that got it there.
  const body = got.res.body.slice(0, SMOKE_MAX_BODY);
  if (got.res.status < 200 || got.res.status > 299 || !body.includes(spec.expect)) {
    throw new HealthError(
      `${head} ${got.res.status} ${excerpt(body)}`,
      `the new image does not answer ${spec.path} as expected: check the image it was built from, or the --smoke text`,
    );
  }
  r.report(
    `smoke check ${spec.path} on ${r.name}: ${got.res.status}, found ${JSON.stringify(spec.expect)} (${got.ms} ms)`,
  );
}

interface Tally {
  ms: number[];
  redirects: number;
  /** Statuses other than 2xx and 3xx, as answered. */
  other: number[];
  noAnswer: number;
}

async function warmUp(r: Run, spec: WarmupSpec): Promise<void> {
  const url = r.base + spec.path;
  const deadline = r.clock.now() + r.timeoutMs;
  // Pooled keep-alive connections, as Traefik's own: the worker's keep-alive path is the one
  // real users take. Bodies are read through (so a connection is reused) but not kept.
  const req = { url, fresh: false, maxBody: 0, ...hostHeader(r) } as const;
  const tally: Tally = { ms: [], redirects: 0, other: [], noAnswer: 0 };
  const count = (res: HttpResponse, ms: number) => {
    tally.ms.push(ms);
    if (res.status >= 300 && res.status < 400) tally.redirects++;
    else if (res.status < 200 || res.status > 299) tally.other.push(res.status);
  };
  // The first request alone, retried on connection errors like a smoke check: a container
  // without a healthcheck counts as healthy the moment it starts, before its app listens.
  const first = await answer(r, deadline, req);
  if (first instanceof HttpFailure) {
    throw new HealthError(
      `warm-up ${spec.path} on ${r.name}: the container does not answer on ${url} within ${seconds(r.timeoutMs)} (${why(first)})`,
      `check that the app listens on the port and network compose-roll addresses (--port, --network); see \`docker logs ${r.name}\``,
    );
  }
  count(first.res, first.ms);
  let sent = 1;
  const worker = async () => {
    while (sent < spec.count && r.clock.now() < deadline) {
      sent++;
      const t0 = r.clock.now();
      try {
        count(
          await r.http.request({ ...req, timeoutMs: Math.max(1, deadline - t0), signal: r.signal }),
          r.clock.now() - t0,
        );
      } catch (err) {
        if (r.signal.aborted) throw stop(r);
        if (!(err instanceof HttpFailure)) throw err;
        // Best effort: an answer that did not come is reported, not a failure (one did come).
        tally.noAnswer++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WARMUP_CONCURRENCY, spec.count - 1) }, worker));
  r.report(warmupLine(r, spec, sent, tally));
}

function warmupLine(r: Run, spec: WarmupSpec, sent: number, t: Tally): string {
  const ok = t.ms.length - t.redirects - t.other.length;
  const others = t.other.length ? ` (${[...new Set(t.other)].sort((a, b) => a - b).join(", ")})` : "";
  const cut = sent < spec.count ? ` (stopped at the ${seconds(r.timeoutMs)} limit)` : "";
  const sorted = [...t.ms].sort((a, b) => a - b);
  const p50 = sorted[Math.ceil(sorted.length / 2) - 1] ?? 0;
  return (
    `warm-up ${spec.path} on ${r.name}: ${sent} of ${spec.count} requests${cut}, ` +
    `${Math.min(WARMUP_CONCURRENCY, spec.count)} at a time: ${ok} 2xx, ${t.redirects} 3xx, ` +
    `${t.other.length} other${others}, ${t.noAnswer} no answer; p50 ${p50} ms, max ${sorted.at(-1) ?? 0} ms`
  );
}

/**
 * One GET, retried while the connection itself fails (refused, reset: the app is still
 * starting) until `deadline`. An HTTP answer of any status is returned as is, and a timeout
 * ends it (each attempt may use all the time left). Returns the last failure when no answer came.
 */
async function answer(
  r: Run,
  deadline: number,
  req: Omit<HttpRequest, "timeoutMs">,
): Promise<{ res: HttpResponse; ms: number } | HttpFailure> {
  let wait = FIRST_RETRY_MS;
  let last = new HttpFailure("timeout", "", false);
  for (;;) {
    if (r.signal.aborted) throw stop(r);
    const t0 = r.clock.now();
    if (t0 >= deadline) return last;
    try {
      const res = await r.http.request({ ...req, timeoutMs: deadline - t0, signal: r.signal });
      return { res, ms: r.clock.now() - t0 };
    } catch (err) {
      if (r.signal.aborted) throw stop(r);
      if (!(err instanceof HttpFailure)) throw err;
      if (err.why !== "error") return err;
      last = err;
    }
    const nap = Math.min(wait, deadline - r.clock.now());
    if (nap <= 0) return last;
    await r.clock.sleep(nap, r.signal).catch(() => {
      throw stop(r);
    });
    wait = Math.min(wait * 2, MAX_RETRY_MS);
  }
}

/** What stopped us: the rollout's own reason (a lost lock) when it gave one, else the signal. */
function stop(r: Run): Error {
  const reason: unknown = r.signal.reason;
  if (reason instanceof ComposeRollError) return reason;
  return new AbortedError(`stopped checking ${r.name}`, "compose-roll was interrupted");
}

const why = (f: HttpFailure): string => (f.why === "timeout" ? "timed out" : f.code || f.why);

/** A body as the message quotes it: trimmed, cut to ~120 characters, JSON-quoted (one line). */
function excerpt(body: string): string {
  const text = body.trim();
  return JSON.stringify(text.length > SHOWN_BODY ? `${text.slice(0, SHOWN_BODY - 3)}...` : text);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}
