// Bounds on every Engine API request, and the switch that stops them all. docker-modem has
// a `timeout` option, but it is a socket idle timer, a no-op on an ssh channel (host/ssh.ts
// socketLike) and wrong for a stream; a request to a host that went silent would otherwise
// wait for the kernel to give up on the connection (~15 min of TCP retransmissions).
//
// - A request gets ENGINE_LIMITS.requestMs for its answer (a stream: for its headers),
//   except those that wait, by design, as long as a container decides (wait, stop, restart).
// - A pull's progress stream is given up after pullIdleMs without a byte. The other streams
//   (events for a health wait, a hook's output) are silent for as long as the container is,
//   and their callers bound them already (--health-timeout, the hook's timeout); over ssh, a
//   dead peer is noticed by the keepalive (host/ssh.ts) whatever is in flight.
// - cutOff(): a run that lost its lock must not drive the service any more: every request in
//   flight is aborted, every later one refused, and the transport closed for good.
import { Transform } from "node:stream";
import type Docker from "dockerode";

export const ENGINE_LIMITS = {
  /** How long a request may wait for its answer. */
  requestMs: 60_000,
  /** How long a pull's progress stream may stay silent. */
  pullIdleMs: 120_000,
};
export type EngineLimits = typeof ENGINE_LIMITS;

interface DialOptions {
  path?: string;
  isStream?: boolean;
  hijack?: boolean;
  abortSignal?: AbortSignal;
}
type Callback = (err: unknown, res?: unknown) => void;
interface Modem {
  dial(options: DialOptions, cb: Callback): void;
}
interface Stream extends NodeJS.ReadableStream {
  destroy(err?: Error): void;
  once(event: string, fn: (...args: unknown[]) => void): this;
}

const UNBOUNDED = /^\/(v[\d.]+\/)?containers\/[^/]+\/(wait|stop|restart)\?/;
const PULL = /^\/(v[\d.]+\/)?images\/create\?/;
const cutters = new WeakMap<object, (why: Error) => void>();

const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;
const timeout = (message: string) => Object.assign(new Error(message), { code: "ETIMEDOUT" });

/** Bounds every request `docker` makes; `onCut` closes its transport (see cutOff). */
export function guard(
  docker: Docker,
  onCut: () => void = () => {},
  limits: EngineLimits = ENGINE_LIMITS,
): void {
  const modem = docker.modem as unknown as Modem;
  const dial = modem.dial.bind(modem);
  const open = new Set<(why: Error) => void>();
  let cut: Error | undefined;
  modem.dial = (options, cb) => {
    if (cut) return cb(cut);
    const ctl = new AbortController();
    const signal = options.abortSignal ? AbortSignal.any([ctl.signal, options.abortSignal]) : ctl.signal;
    const path = options.path ?? "";
    let expired = false;
    const timer = UNBOUNDED.test(path)
      ? undefined
      : setTimeout(() => {
          expired = true;
          ctl.abort();
        }, limits.requestMs);
    let stream: Stream | undefined;
    const stop = (why: Error) => {
      ctl.abort(why);
      stream?.destroy(why);
    };
    open.add(stop);
    dial({ ...options, abortSignal: signal }, (err, res) => {
      clearTimeout(timer);
      if (err || !(options.isStream || options.hijack) || !isStream(res)) {
        open.delete(stop);
        if (err && expired)
          return cb(timeout(`no answer from the Docker engine within ${seconds(limits.requestMs)}`));
        return cb(err && cut ? cut : err, res);
      }
      stream = PULL.test(path) ? idle(res, limits.pullIdleMs) : res;
      stream.once("close", () => open.delete(stop));
      cb(null, stream);
    });
  };
  cutters.set(docker, (why) => {
    cut ??= why;
    for (const stop of open) stop(why);
    open.clear();
    onCut();
  });
}

/**
 * Stops every request `docker` has in flight and refuses every later one with `why`, and
 * closes its transport (an ssh connection is not dialled again). For a holder that lost its
 * lock: whatever it still had in flight must not land after another run took over.
 */
export function cutOff(docker: Docker, why: Error): void {
  cutters.get(docker)?.(why);
}

function isStream(x: unknown): x is Stream {
  return typeof (x as Stream | undefined)?.pipe === "function";
}

/** `res` as a stream that fails once no byte came for `ms`. */
function idle(res: Stream, ms: number): Stream {
  let timer: NodeJS.Timeout | undefined;
  const out = new Transform({
    transform(chunk, _enc, done) {
      arm();
      done(null, chunk);
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => out.destroy(timeout(`the Docker engine sent no pull progress for ${seconds(ms)}`)),
      ms,
    );
  };
  out.once("close", () => {
    clearTimeout(timer);
    res.destroy();
  });
  res.once("error", (err) => out.destroy(err as Error));
  res.pipe(out);
  arm();
  return out as unknown as Stream;
}
