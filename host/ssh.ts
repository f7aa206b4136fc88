// ssh:// transport: HTTP to the Engine API through `docker system dial-stdio` on the remote
// host, as the docker CLI does it. docker-modem's own ssh support opens a NEW ssh connection
// (handshake + auth) for every API call and accepts any host key; this adapter keeps ONE
// authenticated connection per process, opens one exec channel per HTTP connection (reused
// through keep-alive), and checks the host key against known_hosts before sending anything.
import type { Agent as HttpAgent } from "node:http";
import { type Socket, connect as tcpConnect } from "node:net";
import type { Duplex } from "node:stream";
import ssh2, { type ClientChannel, type SFTPWrapper } from "ssh2";
import { EngineError } from "../controller/errors.js";
import type { Endpoint } from "./host.js";
import { hostName, keyTypeOf, verify } from "./knownHosts.js";
import { hostKeyAlgorithms, hostKeyRefusal, type SshSetup } from "./sshAuth.js";
import { failOnExit, forwardError, socketLike } from "./sshChannel.js";
import { keepAlive, SSH_LIMITS, type SshLimits, within } from "./sshLiveness.js";
import { type LocalSocket, serveLocalSocket } from "./sshProxy.js";
import { SftpSession } from "./sshSftp.js";

// Not `import http from "node:http"`: as an ES module namespace, node:http evaluates its lazy
// WebSocket/MessageEvent exports, which load undici, a large HTTP client this process never
// uses and should not carry in memory; getBuiltinModule does not.
const http = process.getBuiltinModule("node:http");

// ssh2 is CommonJS: its named exports are not visible to ESM, only the default object.
const { Client } = ssh2;
type Client = InstanceType<typeof ssh2.Client>;

type SshEndpoint = Extract<Endpoint, { kind: "ssh" }>;

export class SshTransport {
  private client: Promise<Client> | undefined;
  private sock: Socket | undefined;
  /** Channels a request is using; the TCP socket keeps the process alive only while > 0. */
  private busy = 0;
  /** What is in flight on each connection (channels, SFTP work): failed when it drops (see connectOnce). */
  private readonly channels = new Map<Client, Set<InFlight>>();
  readonly agent: HttpAgent;
  /** Closed for good: a run that lost its lock must not dial the host again (engine/guard.ts). */
  private closed = false;
  private readonly sftpSession: SftpSession;
  /** The unix socket for docker CLI subprocesses, once listen() opened it. */
  private proxy: LocalSocket | undefined;

  constructor(
    private readonly e: SshEndpoint,
    private readonly setup: SshSetup,
    private readonly limits: SshLimits = SSH_LIMITS,
  ) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    // Node's Agent calls createConnection(options, callback) for each new HTTP connection.
    (agent as unknown as { createConnection: unknown }).createConnection = (
      _opts: unknown,
      cb: (err: Error | null, s?: Duplex) => void,
    ) => {
      this.channel().then(
        (s) => cb(null, s),
        (err: Error) => cb(err),
      );
    };
    this.agent = agent;
    this.sftpSession = new SftpSession(e.host);
  }

  private where(): string {
    return `ssh://${this.setup.user}@${this.e.host}:${this.e.port}`;
  }

  private connectOnce(): Promise<Client> {
    const name = hostName(this.e.host, this.e.port);
    let refusal: EngineError | undefined;
    return new Promise((resolve, reject) => {
      const sock = tcpConnect({ host: this.e.host, port: this.e.port });
      // Small request/response packets: without this, Nagle + delayed ACK add ~40 ms per API call.
      sock.setNoDelay(true);
      // TCP keep-alive probes after 15 s idle: a NAT or firewall between a CI runner and the
      // host drops idle flows (a quiet 10-minute migration), and a peer that vanished is
      // noticed in seconds instead of the kernel's hours. Not ssh2's keepaliveInterval: its
      // timer is not unref'd, and would hold the process open after the work is done.
      sock.setKeepAlive(true, 15_000);
      this.sock = sock;
      const conn = new Client();
      conn.once("ready", () => {
        conn.once("close", keepAlive(conn, sock, this.limits));
        resolve(conn);
      });
      conn.on("error", (err: Error & { level?: string }) => {
        this.client = undefined;
        if (refusal) return reject(refusal);
        if (err.level === "client-authentication") {
          return reject(
            new EngineError(
              `ssh: ${this.where()} accepted none of our keys (tried: ${this.setup.tried.join(", ") || "none found"})`,
              `load the key into ssh-agent (ssh-add) or put it at ~/.ssh/id_ed25519, and its .pub in ${this.setup.user}'s authorized_keys on ${this.e.host}`,
            ),
          );
        }
        reject(err);
      });
      // A dropped connection (network gone, sshd killed) closes no channel: ssh2 emits a
      // channel's "close" only when the server confirms it. Requests in flight on them would
      // wait forever, and with nothing else left to wait on Node exited 0 mid-rollout.
      conn.on("close", () => {
        this.client = undefined;
        this.sftpSession.forget();
        const lost = new EngineError(
          `ssh: the connection to ${this.where()} was lost`,
          "check the network to the Docker host; once it is back, `compose-roll repair` converges",
        );
        for (const ch of this.channels.get(conn) ?? []) ch.destroy(lost);
        this.channels.delete(conn);
      });
      conn.connect({
        sock,
        username: this.setup.user,
        authHandler: this.setup.auth,
        readyTimeout: 20_000,
        algorithms: { serverHostKey: hostKeyAlgorithms(this.setup.knownHosts, name) },
        hostVerifier: (key: Buffer) => {
          const v = verify(this.setup.knownHosts, this.e.host, this.e.port, key);
          if (v.ok) return true;
          refusal = hostKeyRefusal(v, name, this.e, keyTypeOf(key), this.setup.knownHostsFiles[0] ?? "");
          return false;
        },
      });
    });
  }

  /**
   * Opens a channel on the connection (connecting first), counted busy from the moment it is
   * wanted: the handshake and the channel's opening must hold the process. adopt() hands the
   * channel to socketLike() (sshChannel.ts), which releases the count when it closes.
   */
  private async open(
    how: (conn: Client, cb: (err: Error | undefined, s: ClientChannel) => void) => void,
  ): Promise<ClientChannel> {
    this.track(+1);
    try {
      const conn = await this.connection();
      const opening = new Promise<ClientChannel>((resolve, reject) =>
        how(conn, (err, s) => (err ? reject(err) : resolve(s))),
      );
      const ms = this.limits.channelOpenMs;
      const stream = await within(
        opening,
        ms,
        () => this.silent(`open a channel within ${ms / 1000}s`),
        (late) => late.close(),
      );
      return this.adopt(conn, stream);
    } catch (err) {
      this.track(-1);
      throw err;
    }
  }

  /**
   * Wraps the channel for Node's HTTP agent and lists it under its connection, so a dropped
   * connection fails it (see connectOnce's "close") instead of leaving its request waiting.
   */
  private adopt(conn: Client, stream: ClientChannel): ClientChannel {
    const socket = socketLike(stream, (delta) => this.track(delta));
    const forget = this.enlist(conn, socket);
    stream.once("close", forget);
    return stream;
  }

  /** Lists `what` under its connection until the returned function is called. */
  private enlist(conn: Client, what: InFlight): () => void {
    const open = this.channels.get(conn) ?? new Set<InFlight>();
    this.channels.set(conn, open.add(what));
    return () => {
      open.delete(what);
    };
  }

  /** One `docker system dial-stdio` channel: a byte stream to the remote engine's socket. */
  private async channel(): Promise<Duplex> {
    const stream = await this.open((conn, cb) => conn.exec("docker system dial-stdio", cb));
    failOnExit(stream, this.e.host, this.setup.user);
    return stream;
  }

  /**
   * A TCP stream opened by the remote sshd to host:port (a direct-tcpip channel): Traefik's
   * API and entrypoint, and containers' bridge IPs, as the Docker host itself reaches them.
   */
  async forward(host: string, port: number, signal: AbortSignal): Promise<Duplex> {
    const stream = await this.open((conn, cb) =>
      conn.forwardOut("127.0.0.1", 0, host, port, (err, s) =>
        cb(err ? forwardError(err, host, port, this.e.host) : undefined, s),
      ),
    );
    const s = stream as Duplex;
    if (signal.aborted) {
      s.destroy();
      throw new Error("aborted");
    }
    return s;
  }

  /**
   * Runs `fn` with the connection's SFTP session (opened once), holding the process meanwhile.
   * Listed under the connection like a channel: should it drop, the call rejects at once with
   * the lost connection, whether the session was opening or `fn` had a request in flight
   * (ssh2 would answer those "No response from server", or "Unable to start subsystem", which
   * read as a refused write or a host without SFTP).
   */
  async withSftp<T>(fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    this.track(+1);
    let forget = () => {};
    try {
      const conn = await this.connection();
      const lost = new Promise<never>((_, reject) => {
        forget = this.enlist(conn, { destroy: (err) => reject(err) });
      });
      const work = this.sftpSession.open(conn).then(fn);
      // Once the connection is lost, whatever `work` ends with is beside the point.
      work.catch(() => undefined);
      const ms = this.limits.sftpMs;
      return await within(Promise.race([work, lost]), ms, () =>
        this.silent(`answer over SFTP within ${ms / 1000}s`),
      );
    } finally {
      forget();
      this.track(-1);
    }
  }

  /** The one connection, dialled on first use (and again after a drop, unless closed). */
  private connection(): Promise<Client> {
    if (this.closed) {
      return Promise.reject(
        new EngineError(
          `ssh: the connection to ${this.where()} was closed`,
          "this run no longer uses the Docker host",
        ),
      );
    }
    this.client ??= this.connectOnce();
    return this.client;
  }

  private silent(what: string): EngineError {
    return new EngineError(
      `ssh: ${this.where()} did not ${what}`,
      "check the network to the Docker host and its sshd; once it answers again, `compose-roll repair` converges",
    );
  }

  /** "ssh://root@h:22", for messages. */
  get address(): string {
    return this.where();
  }

  private track(delta: number): void {
    this.busy += delta;
    if (this.busy > 0) this.sock?.ref();
    else this.sock?.unref();
  }

  /**
   * A private unix socket that forwards to the engine through this connection, for docker CLI
   * subprocesses: `docker compose` then reaches the same engine over the same checked ssh
   * connection (sshProxy.ts).
   */
  async listen(): Promise<string> {
    if (this.proxy) return this.proxy.path;
    const proxy = await serveLocalSocket(() => this.channel());
    this.proxy = proxy;
    return proxy.path;
  }

  /** Closes the ssh connection (idle keep-alive channels with it) and the subprocess socket. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
    this.sock?.destroy();
    this.proxy?.close();
  }
}

/** Something on a connection that its loss must fail (see connectOnce's "close"). */
interface InFlight {
  destroy(err: Error): unknown;
}
