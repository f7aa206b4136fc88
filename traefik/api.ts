// Client for Traefik's API (api.insecure on entrypoint `traefik`, or any URL serving /api).
// It answers what Traefik has actually LOADED, which can lag the file by the providers
// throttle (2 s) and is the only evidence that a write took effect.
import { AbortedError, RefusedError, RoutingError } from "../controller/errors.js";
import { type PollOptions, pollUntil } from "../controller/poll.js";
import type { Clock } from "../controller/ports.js";
import { type HostHttp, HttpFailure, localHttp } from "../host/hostio.js";

export interface TraefikApiOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:8080 (path prefixes are kept). */
  url: string;
  /** Per-request timeout; a wedged Traefik must not hang a rollout. Default 2000. */
  requestTimeoutMs?: number;
  /** Poll period of waitForServers/waitForRouter. Default 100. */
  pollMs?: number;
  clock?: Clock;
  /** Where requests go from: the runner's network (default) or the Docker host's (ssh). */
  http?: HostHttp;
}

export interface ApiRouter {
  /** Qualified name, e.g. "web@file". */
  name: string;
  service: string;
  provider: string;
  rule: string;
  entryPoints: string[];
  /** The router has a `tls` section: it serves the HTTPS side of its entrypoints. */
  tls: boolean;
  status: string;
  errors: string[];
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(aborted());
      const t = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(aborted());
      };
      signal.addEventListener("abort", onAbort, { once: true });
    }),
};

export const aborted = (): AbortedError => new AbortedError("interrupted while waiting for Traefik");

/** How traefik/ waits for Traefik (or a container) to catch up: every 100 ms, interrupted as above. */
export const POLL: PollOptions = { everyMs: 100, aborted };

/**
 * A try for pollUntil that reads Traefik's API, where an error (Traefik restarting, a
 * timeout) is a try that failed: the wait goes on, and `onError` keeps the message for the
 * report should it time out. An abort, or a RoutingError (a verdict), ends the wait.
 */
export const throughErrors =
  <T>(read: () => Promise<T | undefined>, onError: (message: string) => void) =>
  async (): Promise<T | undefined> => {
    try {
      return await read();
    } catch (err) {
      if (err instanceof AbortedError || err instanceof RoutingError) throw err;
      onError((err as Error).message);
      return undefined;
    }
  };

/** `web` → `web@file`; an explicit provider is kept. */
export const qualify = (name: string): string => (name.includes("@") ? name : `${name}@file`);

const sameSet = (a: string[], b: string[]): boolean => {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
};

const show = (urls: string[] | undefined): string =>
  urls === undefined ? "(service absent)" : `[${[...urls].sort().join(", ")}]`;

/**
 * The most of one API answer read: a page of 500 routers is well under 1 MiB. Past it the
 * answer is not Traefik's (or not sane), and is refused instead of held in memory.
 */
export const API_BODY_CAP = 4 * 1024 * 1024;

/**
 * For a preflight, where nothing has changed yet: what failed is a refusal (exit 2), not an
 * internal error; an interruption stays one.
 */
export function refusal(err: unknown): never {
  if (err instanceof RefusedError || err instanceof AbortedError) throw err;
  const e = err as Error & { hint?: string };
  throw new RefusedError(
    e.message,
    e.hint ?? "check that Traefik runs and that --traefik-api points at its API; then retry",
  );
}

/** How many times ping asks before calling a timing-out API unreachable. */
const PING_TRIES = 3;

/** A request that got no answer within the timeout (as opposed to a refusal or a bad answer). */
class ApiTimeout extends Error {}

export class TraefikApi {
  readonly url: string;
  private readonly timeoutMs: number;
  /** How waitForServers/waitForRouter poll. */
  private readonly poll: PollOptions;
  private readonly clock: Clock;
  private readonly http: HostHttp;

  constructor(opts: TraefikApiOptions) {
    this.http = opts.http ?? localHttp;
    this.url = opts.url.replace(/\/+$/, "");
    this.timeoutMs = opts.requestTimeoutMs ?? 2000;
    this.poll = { everyMs: opts.pollMs ?? 100, aborted };
    this.clock = opts.clock ?? realClock;
  }

  /** GET a JSON path; undefined on 404. Throws AbortedError when `signal` aborts. */
  private async get(
    path: string,
    signal?: AbortSignal,
  ): Promise<{ body: unknown; headers: Record<string, unknown> } | undefined> {
    if (signal?.aborted) throw aborted();
    const res = await this.http
      .request({
        url: this.url + path,
        timeoutMs: this.timeoutMs,
        ...(signal ? { signal } : {}),
        headers: { accept: "application/json" },
        maxBody: API_BODY_CAP + 1,
      })
      .catch((err: unknown) => {
        if (!(err instanceof HttpFailure)) throw err;
        if (err.why === "aborted") throw aborted();
        if (err.why === "timeout")
          throw new ApiTimeout(`GET ${this.url + path} timed out after ${this.timeoutMs} ms`);
        throw new Error(`GET ${this.url + path} failed: ${err.code}`);
      });
    if (res.status === 404) return undefined;
    const text = res.body;
    if (res.status < 200 || res.status > 299)
      throw new Error(`GET ${this.url + path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    if (text.length > API_BODY_CAP)
      throw new Error(`GET ${this.url + path} answered with more than ${API_BODY_CAP / 1024 / 1024} MiB`);
    try {
      return { body: JSON.parse(text), headers: res.headers };
    } catch {
      throw new Error(`GET ${this.url + path}: not JSON (is this Traefik's API?): ${text.slice(0, 100)}`);
    }
  }

  /** Traefik's raw answer for a path (status view), or undefined when it is not there. */
  async raw(path: string, signal?: AbortSignal): Promise<unknown> {
    return (await this.get(path, signal))?.body;
  }

  /**
   * Resolves when the API answers; RefusedError with the fix otherwise. A timeout is tried
   * again (PING_TRIES in all): on a loaded runner or host one slow answer is common, and this
   * check runs before anything changes. A refused connection or a wrong answer is final.
   */
  async ping(signal?: AbortSignal): Promise<void> {
    let found: unknown;
    for (let tries = 1; ; tries++) {
      try {
        found = await this.get("/api/overview", signal);
        break;
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        if (err instanceof ApiTimeout && tries < PING_TRIES) continue;
        const why = err instanceof ApiTimeout ? `${err.message}, ${tries} tries` : (err as Error).message;
        throw new RefusedError(
          `Traefik API not reachable at URL: ${this.url} (${why})`,
          "start Traefik with --api.insecure=true (or route api@internal) and pass its URL as --traefik-api (a container or service name works unpublished: http://traefik:8080)",
        );
      }
    }
    if (found === undefined) {
      throw new RefusedError(
        `Traefik API not reachable at URL: ${this.url} (GET /api/overview answered 404)`,
        "pass the URL that serves Traefik's /api (api.insecure serves it on the `traefik` entrypoint, :8080)",
      );
    }
  }

  /** Server URLs of service `name` (default provider: file); undefined when Traefik lacks it. */
  async service(name: string, signal?: AbortSignal): Promise<string[] | undefined> {
    return (await this.serviceView(name, signal))?.servers;
  }

  /**
   * Service `name`'s server URLs and the routers that send to it, from one read; undefined when
   * Traefik lacks it. Traefik omits `usedBy` when no router does: such a service gets no request.
   */
  async serviceView(
    name: string,
    signal?: AbortSignal,
  ): Promise<{ servers: string[]; usedBy: string[] } | undefined> {
    const got = await this.get(`/api/http/services/${encodeURIComponent(qualify(name))}`, signal);
    if (got === undefined) return undefined;
    const body = got.body as { loadBalancer?: { servers?: { url?: unknown }[] }; usedBy?: unknown };
    // Traefik omits `servers` for a load balancer with none.
    const servers = (body.loadBalancer?.servers ?? []).flatMap((s) =>
      typeof s.url === "string" ? [s.url] : [],
    );
    const usedBy = Array.isArray(body.usedBy)
      ? body.usedBy.filter((u): u is string => typeof u === "string")
      : [];
    return { servers, usedBy };
  }

  async router(name: string, signal?: AbortSignal): Promise<ApiRouter | undefined> {
    const got = await this.get(`/api/http/routers/${encodeURIComponent(qualify(name))}`, signal);
    return got === undefined ? undefined : toRouter(got.body);
  }

  /** All HTTP routers (following the API's pagination). */
  async routers(signal?: AbortSignal): Promise<ApiRouter[]> {
    const all: ApiRouter[] = [];
    for (let page = 1; ; ) {
      const got = await this.get(`/api/http/routers?per_page=500&page=${page}`, signal);
      if (got === undefined || !Array.isArray(got.body)) break;
      all.push(...got.body.map(toRouter));
      const next = Number(got.headers["x-next-page"]);
      if (!Number.isInteger(next) || next <= page) break;
      page = next;
    }
    return all;
  }

  /**
   * Routers sending to `service`: ones naming `<service>@file`, and ones of the file provider
   * naming plain `<service>` (a plain name resolves within the router's own provider).
   */
  async routersFor(service: string, signal?: AbortSignal): Promise<ApiRouter[]> {
    const q = qualify(service);
    const plain = q.slice(0, q.indexOf("@"));
    const provider = q.slice(q.indexOf("@") + 1);
    return (await this.routers(signal)).filter(
      (r) => r.service === q || (r.service === plain && r.provider === provider),
    );
  }

  /**
   * Polls until Traefik lists exactly `expected` (as a set) for service `name`. Errors while
   * polling (Traefik restarting) are retried until the deadline and reported with it.
   */
  async waitForServers(
    name: string,
    expected: string[],
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    let last: string[] | undefined;
    let lastError: string | undefined;
    const listed = await pollUntil(
      this.clock.now() + timeoutMs,
      this.clock,
      signal,
      throughErrors(
        async () => {
          last = await this.service(name, signal);
          lastError = undefined;
          return last !== undefined && sameSet(last, expected) ? true : undefined;
        },
        (message) => (lastError = message),
      ),
      this.poll,
    );
    if (!listed) {
      throw new RoutingError(
        `Traefik did not list exactly ${show(expected)} for ${qualify(name)} within ${timeoutMs} ms; ` +
          `last seen ${show(last)}${lastError ? `; last error: ${lastError}` : ""}`,
        "check Traefik's log for a rejected configuration, and that it watches the file's directory",
      );
    }
  }

  /**
   * Polls until router `name` is loaded with exactly `rule` (so a stale router of the same
   * name does not count) and enabled. A router Traefik loaded but disabled (unknown
   * entrypoint, bad rule, priority too high) fails at once with Traefik's own error.
   */
  async waitForRouter(
    name: string,
    rule: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ApiRouter> {
    let lastError = "not listed";
    const loaded = await pollUntil(
      this.clock.now() + timeoutMs,
      this.clock,
      signal,
      throughErrors(
        async () => {
          const r = await this.router(name, signal);
          if (r === undefined) lastError = "not listed";
          else if (r.rule !== rule) lastError = `still has rule ${r.rule}`;
          else if (r.status === "disabled") {
            throw new RoutingError(`Traefik loaded router ${r.name} but disabled it: ${r.errors.join("; ")}`);
          } else return r;
          return undefined;
        },
        (message) => (lastError = message),
      ),
      this.poll,
    );
    if (!loaded)
      throw new RoutingError(
        `Traefik did not load router ${qualify(name)} within ${timeoutMs} ms (${lastError})`,
      );
    return loaded;
  }
}

function toRouter(raw: unknown): ApiRouter {
  const r = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  return {
    name: str(r.name),
    service: str(r.service),
    provider: str(r.provider),
    rule: str(r.rule),
    entryPoints: list(r.entryPoints),
    tls: r.tls !== undefined && r.tls !== null,
    status: str(r.status),
    errors: list(r.error),
  };
}
