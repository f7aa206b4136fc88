// Ports for what compose-roll needs from the Docker host besides the Engine API: its files
// (the Traefik file) and its network (Traefik's API, the entrypoint, containers' addresses).
// cli/context.ts picks the adapters by transport: the runner's own filesystem and network
// when the engine is local (unix://) or tcp://, and the ssh connection to the engine
// (SFTP, forwarded TCP streams) for ssh://, so a runner needs no port but that one.
import type { Agent as HttpAgent, IncomingHttpHeaders } from "node:http";
import type https from "node:https";
import { isIP } from "node:net";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import type { Duplex } from "node:stream";

// Not `import http from "node:http"`: as an ES module namespace, node:http evaluates its lazy
// WebSocket/MessageEvent exports, which load undici (a sizeable share of a command's
// memory); require does not.
const http = process.getBuiltinModule("node:http");
// node:https and node:tls load at the first https:// URL: they bring OpenSSL's TLS code
// (megabytes of memory), and Traefik's API, the entrypoint and health probes are often http.
const tls = () => process.getBuiltinModule("node:tls");
const httpsModule = () => process.getBuiltinModule("node:https");

export interface HostFiles {
  /** " on ssh://root@h:22" for a remote host, "" for the local one: appended to messages. */
  readonly where: string;
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  isDirectory(path: string): Promise<boolean>;
  /** Creates `path` (mode 0755) unless it exists; its parent must exist. */
  mkdir(path: string): Promise<void>;
  /**
   * Replaces `path` atomically: a temp file in `tempDir` (same filesystem), synced, renamed
   * over `path`. Keeps the file's mode, and its owner when allowed. Rejects with the cause.
   * A symbolic link at `path` is kept: the file it leads to is replaced (see writeTarget).
   */
  writeAtomic(path: string, text: string, tempDir: string): Promise<void>;
  /**
   * Proves a rewrite of `path` will fit: writes (and removes) a file in `tempDir` twice the
   * size of `path`, so a read-only mount or a full disk is refused before anything changes.
   * Through a symbolic link, where writeAtomic would write (see writeTarget).
   */
  checkWritable(path: string, tempDir: string): Promise<void>;
}

/** Linux's MAXSYMLINKS: more links than this in a row is a loop. */
const MAX_LINKS = 40;

/**
 * Where a write of `path` lands so that a symbolic link there survives it: the file at the
 * end of its chain of links (a relative target resolves against its link's directory), or
 * `path` itself when it is no link (or does not exist). A dangling link names the file to
 * create. The temp directory moves with it, under the same name beside that file: the
 * rename must stay on the target's filesystem. `readLink` gives a link's target, or
 * undefined for anything that is not a link.
 */
export async function writeTarget(
  path: string,
  tempDir: string,
  readLink: (path: string) => Promise<string | undefined>,
): Promise<{ path: string; tempDir: string }> {
  let target = path;
  for (let i = 0; i < MAX_LINKS; i++) {
    const next = await readLink(target);
    if (next === undefined) {
      return target === path
        ? { path, tempDir }
        : { path: target, tempDir: join(dirname(target), basename(tempDir)) };
    }
    target = isAbsolute(next) ? next : resolve(dirname(target), next);
  }
  throw new Error(`${path}: too many levels of symbolic links`);
}

export interface HttpRequest {
  url: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** A fresh connection, closed after the answer (probes); default: a pooled keep-alive one. */
  fresh?: boolean;
  /** https: skip certificate checks (our own Traefik's self-signed default certificate). */
  insecure?: boolean;
  /** Keep at most this many characters of the body. Default: all. */
  maxBody?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request that got no HTTP answer: why, and whether a connection was made at all. */
export class HttpFailure extends Error {
  constructor(
    readonly why: "timeout" | "aborted" | "error",
    /** The system's code (ECONNREFUSED, ENOTFOUND) or the message. */
    readonly code: string,
    readonly connected: boolean,
  ) {
    super(code);
  }
}

/** GET requests made where the Docker host's network is (see hostHttp). */
export interface HostHttp {
  request(req: HttpRequest): Promise<HttpResponse>;
}

/**
 * Opens a byte stream to host:port from the Docker host's side; resolves once it is open,
 * and gives up (destroying what it started) when `signal` aborts.
 */
export type Connector = (host: string, port: number, signal: AbortSignal) => Promise<Duplex>;

/** Maps a URL's host name to the address to connect to (a container name to its IP). */
export type Resolver = (host: string) => Promise<string>;

type Open = (opts: Record<string, unknown>, cb: (e: Error | null, s?: Duplex) => void) => undefined;

/**
 * HTTP from where the Docker host is. Without `connect`: the runner's own network, exactly as
 * compose-roll always did (unix:// and tcp://). With one: every stream comes from it (over
 * ssh: forwarded by the Docker host), so nothing reaches the runner's network. Names are
 * mapped by `resolve` first; the Host header keeps the name the user gave.
 */
export function hostHttp(connect?: Connector, resolve: Resolver = async (h) => h): HostHttp {
  const open =
    (secure: boolean): Open =>
    (opts, cb) => {
      const signal = (opts.connectSignal as AbortSignal | undefined) ?? new AbortController().signal;
      (connect as Connector)(String(opts.host), Number(opts.port), signal).then(
        (raw) => {
          if (!secure) return cb(null, raw);
          const s = tls().connect({
            socket: raw,
            rejectUnauthorized: false,
            ...(typeof opts.servername === "string" ? { servername: opts.servername } : {}),
          });
          s.once("secureConnect", () => cb(null, s));
          s.once("error", (err) => cb(err));
        },
        (err: Error) => cb(err),
      );
      return undefined;
    };
  const pooled: Record<string, HttpAgent> = {};
  /** The keep-alive agent for "http:" or "https:", made at its first request. */
  const agent = (proto: string): HttpAgent | undefined => {
    let a = pooled[proto];
    if (!a && (proto === "http:" || proto === "https:")) {
      a = new (proto === "https:" ? httpsModule().Agent : http.Agent)({ keepAlive: true });
      if (connect) Object.assign(a, { createConnection: open(proto === "https:") });
      pooled[proto] = a;
    }
    return a;
  };
  return {
    request: async (req) => {
      const url = new URL(req.url);
      const name = url.hostname.replace(/^\[(.*)\]$/, "$1");
      const address = isIP(name) || name === "localhost" ? name : await resolve(name);
      const secure = url.protocol === "https:";
      const via = req.fresh
        ? // Node uses createConnection only when no agent is given (agent: false makes one).
          connect
          ? { createConnection: open(secure) }
          : { agent: false }
        : { agent: agent(url.protocol) };
      return send(req, url, address, via);
    },
  };
}

function send(req: HttpRequest, url: URL, address: string, via: object): Promise<HttpResponse> {
  const secure = url.protocol === "https:";
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  let connected = false;
  return new Promise((resolve, reject) => {
    if (signal.aborted)
      return reject(new HttpFailure(req.signal?.aborted ? "aborted" : "timeout", "", false));
    const options: https.RequestOptions & { connectSignal: AbortSignal } = {
      host: address,
      port: Number(url.port) || (secure ? 443 : 80),
      path: url.pathname + url.search,
      method: "GET",
      ...(isIP(url.hostname) ? {} : { servername: url.hostname }),
      headers: { host: url.host, ...req.headers, ...(req.fresh ? { connection: "close" } : {}) },
      rejectUnauthorized: !req.insecure,
      signal,
      // Reaches a connector through the agent (Node drops `signal` before createConnection).
      connectSignal: signal,
      ...via,
    };
    const r = (secure ? httpsModule().request : http.request)(options, (res) => {
      connected = true;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (req.maxBody === undefined || body.length < req.maxBody) body += chunk;
      });
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      res.on("end", done);
      res.on("error", done);
    });
    r.on("socket", (socket: Duplex & { connecting?: boolean }) => {
      // A connector's stream (and a pooled socket) is open already; a net.Socket says so.
      if (socket.connecting !== true) connected = true;
      else socket.once(secure ? "secureConnect" : "connect", () => (connected = true));
    });
    r.on("error", (err: NodeJS.ErrnoException) => {
      const why = timeout.aborted ? "timeout" : req.signal?.aborted ? "aborted" : "error";
      reject(new HttpFailure(why, err.code ?? err.message, connected));
    });
    r.end();
  });
}

/** The runner's own network (unix:// and tcp:// engines): today's behaviour. */
export const localHttp: HostHttp = hostHttp();
