// One live request through a Traefik entrypoint carrying the probe header, and the verdict
// on its answer. node:http rather than fetch: we need a Host header of our choosing and, for
// https entrypoints, to skip certificate checks (we are talking to our own Traefik, whose
// default certificate is self-signed; proving identity is not what the probe is for).
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { PROBE_HEADER } from "./file.js";

export interface ProbeTarget {
  /** Base URL of a Traefik entrypoint, e.g. http://127.0.0.1:80. */
  url: string;
  /** Request path. Default "/". */
  path?: string;
  /** Host header to send (for backends that check it); default: the URL's host. */
  host?: string;
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
export function sendProbe(
  target: ProbeTarget,
  token: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeVerdict> {
  const base = new URL(target.url);
  const url = new URL((target.path ?? "/").replace(/^(?!\/)/, "/"), base);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const timeout = AbortSignal.timeout(timeoutMs);
  let connected = false;
  return new Promise((resolve) => {
    const req = send(
      url,
      {
        method: "GET",
        headers: { [PROBE_HEADER]: token, host: target.host ?? url.host, connection: "close" },
        // A fresh connection each time: a kept-alive one could outlive the probe and pin an
        // old handler across the reload we are waiting for.
        agent: false,
        rejectUnauthorized: false,
        signal: AbortSignal.any([signal, timeout]),
      },
      (res: IncomingMessage) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (body.length < 256) body += chunk;
        });
        res.on("error", () => resolve(judge(res.statusCode ?? 0, res.headers, body, token)));
        res.on("end", () => resolve(judge(res.statusCode ?? 0, res.headers, body, token)));
      },
    );
    req.on("socket", (socket) => {
      socket.once(url.protocol === "https:" ? "secureConnect" : "connect", () => {
        connected = true;
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      // Both signals abort with the same ABORT_ERR; say which one it was.
      const why = timeout.aborted
        ? `timed out after ${timeoutMs} ms${connected ? " (connected, no HTTP answer)" : ""}`
        : signal.aborted
          ? "interrupted"
          : (err.code ?? err.message);
      resolve({
        ok: false,
        answered: false,
        connected,
        detail: `no answer from the entrypoint at ${base.origin}: ${why}`,
      });
    });
    req.end();
  });
}
