// An ssh channel dressed as the TCP socket Node's HTTP client expects: the methods its agent
// calls on a socket, and the far end's failures (the remote docker CLI exiting, sshd refusing
// a forward) arriving as errors on the stream, the way a reset or refused TCP connect does.
import type { Duplex } from "node:stream";
import type { ClientChannel } from "ssh2";
import { EngineError } from "../controller/errors.js";

/**
 * Node's keep-alive Agent calls setKeepAlive/ref/unref on its sockets: an idle pooled
 * connection is unref'd so it never holds the process open. A channel is not a socket, so
 * these are forwarded to `track`, a count that refs or unrefs the one TCP socket under them
 * all. The channel starts counted (+1 when it was asked for); `track(-1)` follows at the
 * latest when it closes or is destroyed.
 */
export function socketLike(stream: ClientChannel, track: (delta: number) => void): Duplex {
  let reffed = true;
  let dead = false;
  const release = () => {
    if (reffed && !dead) track(-1);
    reffed = false;
    dead = true;
  };
  const s = stream as unknown as Record<string, unknown>;
  s.setKeepAlive = () => stream;
  s.setNoDelay = () => stream;
  s.setTimeout = () => stream;
  s.ref = () => {
    if (!reffed && !dead) track(+1);
    reffed = !dead;
    return stream;
  };
  s.unref = () => {
    if (reffed && !dead) track(-1);
    reffed = false;
    return stream;
  };
  // ssh2 emits "close" only once the server confirms; destroy() alone never does. So a
  // destroyed channel is released at once and closed on the wire (CHANNEL_CLOSE).
  const destroy = stream.destroy.bind(stream) as (err?: Error) => Duplex;
  s.destroy = (err?: Error) => {
    release();
    try {
      stream.close();
    } catch {
      // the connection under it is gone already: nothing to tell the server
    }
    return destroy(err);
  };
  stream.once("close", release);
  return stream;
}

/**
 * Destroys a `docker system dial-stdio` channel with the reason when the remote command exits
 * non-zero: a missing docker CLI (127) or a socket it cannot reach. `host`, `user`: the
 * Docker host and the ssh user, for the message.
 */
export function failOnExit(stream: ClientChannel, host: string, user: string): void {
  let stderr = "";
  stream.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  stream.once("exit", (code: number | null) => {
    if (code) {
      (stream as Duplex).destroy(
        new EngineError(
          `ssh: \`docker system dial-stdio\` on ${host} exited ${code}: ${stderr.trim().split("\n").pop() ?? ""}`,
          `install the docker CLI on ${host} (on ${user}'s PATH) and check that \`docker info\` works there`,
        ),
      );
    }
  });
}

/**
 * sshd's refusal of a forward: usually AllowTcpForwarding no, or nothing listening there.
 * Its `code` is what an HTTP caller reports for a failed connect (an errno on a TCP socket).
 */
export function forwardError(err: Error, host: string, port: number, sshHost: string): Error {
  const e = new Error(`ssh: ${sshHost} could not open a connection to ${host}:${port} (${err.message})`);
  (e as NodeJS.ErrnoException).code =
    `ssh forward to ${host}:${port} refused: ${err.message} (AllowTcpForwarding on ${sshHost}?)`;
  return e;
}
