// How long the ssh transport waits for a peer that stopped answering. TCP keep-alive alone
// does not notice it while a request is in flight (then the kernel retransmits for ~15 min),
// so the transport asks the server for an answer every keepaliveMs and drops the connection
// after keepaliveMissed unanswered asks: a dead peer is noticed within
// keepaliveMs * (keepaliveMissed + 1), 30 s by default, and what was in flight fails then.
import type { Socket } from "node:net";
import type ssh2 from "ssh2";

type Client = InstanceType<typeof ssh2.Client>;

export const SSH_LIMITS = {
  keepaliveMs: 10_000,
  keepaliveMissed: 2,
  /** A channel (an Engine API connection, a forward) the server does not open in time. */
  channelOpenMs: 30_000,
  /** One piece of SFTP work (reading or replacing the Traefik file, a check). */
  sftpMs: 60_000,
};
export type SshLimits = typeof SSH_LIMITS;

/**
 * Pings the server while the connection lives; destroys `sock` after `missed` unanswered
 * pings. Not ssh2's keepaliveInterval: its timer is not unref'd and would hold the process
 * open after the work is done. The ping is a cancel-tcpip-forward of a forward that does not
 * exist: a global request every sshd answers (with a failure), through ssh2's public API.
 */
export function keepAlive(conn: Client, sock: Socket, limits: SshLimits): () => void {
  let unanswered = 0;
  const timer = setInterval(() => {
    if (unanswered >= limits.keepaliveMissed) {
      clearInterval(timer);
      sock.destroy();
      return;
    }
    unanswered++;
    try {
      conn.unforwardIn("127.0.0.1", 0, () => {
        unanswered = 0;
      });
    } catch {
      // not writable: the connection is closing, and its "close" ends this timer
    }
  }, limits.keepaliveMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * `work`, or `fail()` once `ms` passed without it settling. What arrives too late is handed
 * to `late` (a channel nobody will use is closed).
 */
export function within<T>(
  work: Promise<T>,
  ms: number,
  fail: () => Error,
  late?: (v: T) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let over = false;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      over = true;
      reject(fail());
    }, ms);
  });
  work.then(
    (v) => {
      if (over) late?.(v);
    },
    () => undefined,
  );
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
