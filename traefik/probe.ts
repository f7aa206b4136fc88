// Proving a server through Traefik with the probe route: the entrypoints the probe router
// joins, one live request through an entrypoint carrying the probe header, the verdict on
// its answer, and sending until one is proven. Requests go through HostHttp (from the
// Docker host's side over ssh) with a Host header of our choosing and, for https
// entrypoints, no certificate checks (we are talking to our own Traefik, whose default
// certificate is self-signed; proving identity is not what the probe is for).
import { RoutingError } from "../controller/errors.js";
import { pollUntil } from "../controller/poll.js";
import type { Clock } from "../controller/ports.js";
import { type HostHttp, HttpFailure, localHttp } from "../host/hostio.js";
import { aborted, POLL, type TraefikApi, throughErrors } from "./api.js";
import { PROBE_HEADER } from "./file.js";

export interface ProbeTarget {
  /** Base URL of a Traefik entrypoint, e.g. http://127.0.0.1:80. */
  url: string;
  /** Request path. Default "/". */
  path?: string;
  /** Host header to send (for backends that check it); default: the URL's host. */
  host?: string;
}

export interface ProbeOptions extends ProbeTarget {
  /**
   * Entrypoints the probe router joins. Default: those of the routers that send to the
   * service and match the URL's scheme (https ↔ routers with tls).
   */
  entryPoints?: string[];
  /** Cap on one probe request. Default 2000. */
  requestTimeoutMs?: number;
}

export type ProbeVerdict =
  /** The answer came from the server behind the probe router. */
  | { ok: true; status: number }
  /**
   * Not (yet) proven; `detail` says what Traefik answered instead (`answered`: it did
   * answer; `connected`: at least the entrypoint accepted the connection).
   */
  | { ok: false; answered: boolean; connected?: boolean; detail: string };

/** Traefik's answers when it could not reach the server behind the router. */
const GATEWAY_ERRORS = new Set([502, 503, 504]);

/**
 * The marker header (added by the probe router's middleware, set to the token) tells our
 * router's answers apart from every other answer: Traefik's own 404 "404 page not found"
 * (no router matched, e.g. the reload has not reached this entrypoint yet), an entrypoint
 * redirection, or another router. Any status from the server itself counts as reached,
 * except 502/503/504, which is what Traefik says when the server did not answer.
 */
export function judge(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  token: string,
): ProbeVerdict {
  const marker = headers[PROBE_HEADER.toLowerCase()];
  const viaProbe = marker === token || (Array.isArray(marker) && marker.includes(token));
  if (viaProbe && !GATEWAY_ERRORS.has(status)) return { ok: true, status };
  if (viaProbe)
    return {
      ok: false,
      answered: true,
      detail: `Traefik could not reach the server: HTTP ${status} ${body.trim().slice(0, 80)}`,
    };
  if (status === 404 && body.trim() === "404 page not found") {
    return {
      ok: false,
      answered: true,
      detail: "Traefik's own 404: no router matched the probe at this entrypoint",
    };
  }
  const where = typeof headers.location === "string" ? ` to ${headers.location}` : "";
  return {
    ok: false,
    answered: true,
    detail: `HTTP ${status}${where} did not come through the probe router`,
  };
}

/** Sends one probe; never throws for HTTP outcomes, only reports them. */
export async function sendProbe(
  target: ProbeTarget,
  token: string,
  timeoutMs: number,
  signal: AbortSignal,
  http: HostHttp = localHttp,
): Promise<ProbeVerdict> {
  const base = new URL(target.url);
  const url = new URL((target.path ?? "/").replace(/^(?!\/)/, "/"), base);
  try {
    const res = await http.request({
      url: url.href,
      headers: { [PROBE_HEADER]: token, host: target.host ?? url.host },
      // A fresh connection each time: a kept-alive one could outlive the probe and pin an
      // old handler across the reload we are waiting for.
      fresh: true,
      insecure: true,
      timeoutMs,
      signal,
      maxBody: 256,
    });
    return judge(res.status, res.headers, res.body, token);
  } catch (err) {
    if (!(err instanceof HttpFailure)) throw err;
    // Both signals abort the request alike; say which one it was.
    const why =
      err.why === "timeout"
        ? `timed out after ${timeoutMs} ms${err.connected ? " (connected, no HTTP answer)" : ""}`
        : err.why === "aborted"
          ? "interrupted"
          : err.code;
    return {
      ok: false,
      answered: false,
      connected: err.connected,
      detail: `no answer from the entrypoint at ${base.origin}: ${why}`,
    };
  }
}

/**
 * The entrypoints the probe router joins: those real traffic to `service` uses, on the side
 * (TLS or not) the probe URL speaks. None found (no router yet, or a scheme mismatch):
 * undefined, Traefik's default entrypoints, and the probe's answer will say if that was wrong.
 */
export async function probeEntryPoints(
  api: TraefikApi,
  service: string,
  tls: boolean,
  deadline: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<string[] | undefined> {
  // Retried until the deadline like every other API read: an API that blips (Traefik
  // restarting) must not fail the step while it would answer a second later.
  let lastError = "";
  const found = await pollUntil(
    deadline,
    clock,
    signal,
    throughErrors(
      async () => {
        const routers = await api.routersFor(service, signal);
        const eps = new Set(routers.filter((r) => r.tls === tls).flatMap((r) => r.entryPoints));
        return { eps: eps.size > 0 ? [...eps].sort() : undefined };
      },
      (message) => (lastError = message),
    ),
    POLL,
  );
  if (!found) throw new RoutingError(`could not list Traefik's routers: ${lastError}`);
  return found.eps;
}

/** What probeUntil() needs: the entrypoint and token to probe with, and the server it proves. */
export interface ProbeWait {
  probe: ProbeOptions;
  token: string;
  /** The server the probe service holds (for messages). */
  server: string;
  /** The Traefik service whose routers' entrypoint `probe.url` should be (for messages). */
  service: string;
  deadline: number;
  /** The step's whole budget (for messages). */
  timeoutMs: number;
  clock: Clock;
  signal: AbortSignal;
  http?: HostHttp | undefined;
}

/** Sends probes every 100 ms until one comes back through the probe router or the deadline passes. */
export async function probeUntil(w: ProbeWait): Promise<void> {
  const { probe, clock, deadline, signal } = w;
  const left = () => Math.max(0, deadline - clock.now());
  let last: Extract<ProbeVerdict, { ok: false }> = { ok: false, answered: false, detail: "no probe sent" };
  const proven = await pollUntil(
    deadline,
    clock,
    signal,
    async () => {
      // The route's own waits may have used all the time: report, rather than send a probe
      // that has none.
      if (left() <= 0) return undefined;
      const verdict = await sendProbe(
        probe,
        w.token,
        Math.min(probe.requestTimeoutMs ?? 2000, left()),
        signal,
        w.http,
      );
      if (signal.aborted) throw aborted();
      if (verdict.ok) return true;
      // Near the deadline a probe gets only what time is left and may time out for that
      // alone; Traefik's last real answer (a 502, say) is the better reason to report.
      if (verdict.answered || !last.answered) last = verdict;
      return undefined;
    },
    POLL,
  );
  if (!proven) {
    throw new RoutingError(
      `Traefik did not route a probe to ${w.server} within ${w.timeoutMs} ms: ${last.detail}`,
      `check that ${w.server} is reachable from Traefik's network and that ${probe.url} is an entrypoint of ${w.service}'s routers`,
    );
  }
}

/**
 * Label mode's proof: one GET straight at a container's `url` + `path` (no Traefik in the
 * way, see docker-provider.ts). True when it answered, else why not.
 */
export async function directRequest(
  http: HostHttp,
  path: string,
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<true | string> {
  try {
    const res = await http.request({
      url: new URL(path, url).href,
      fresh: true,
      timeoutMs: Math.max(1, timeoutMs),
      signal,
      maxBody: 0,
    });
    return GATEWAY_ERRORS.has(res.status) ? `HTTP ${res.status}` : true;
  } catch (err) {
    if (signal.aborted) throw aborted();
    if (err instanceof HttpFailure) return err.why === "timeout" ? "timed out" : err.code;
    return (err as Error).message;
  }
}
