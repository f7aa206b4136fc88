// SshTransport against a real ssh2 server in this process: its SFTP subsystem hears the
// requests and answers none, as a Docker host does whose network just went away, and the
// connection then drops under a request in flight.
import type { AddressInfo, Socket } from "node:net";
import ssh2 from "ssh2";
import { afterEach, describe, expect, it } from "vitest";
import { exitCodeFor, RefusedError } from "../controller/errors.js";
import { parseKnownHosts } from "./knownHosts.js";
import { SshTransport } from "./ssh.js";
import { SSH_LIMITS, type SshLimits } from "./sshLiveness.js";

const { Server, utils } = ssh2;
type Server = InstanceType<typeof ssh2.Server>;

const hostKey = utils.generateKeyPairSync("ed25519");

interface Remote {
  server: Server;
  port: number;
  /** Resolves with the server side's TCP socket of each connection, once it asks for SFTP. */
  sftpOpened: Promise<Socket>;
  /** SFTP requests the server heard (and left unanswered). */
  heard: string[];
  /** SFTP sessions asked for, over every connection. */
  sessions: () => number;
}

/**
 * `answerSubsystem: false`: the SFTP subsystem request is heard and never answered;
 * `refuseSubsystem`: it is refused, as by an sshd without a Subsystem sftp line.
 */
async function silentSftpServer(
  opts: { answerSubsystem?: boolean; refuseSubsystem?: boolean } = {},
): Promise<Remote> {
  const heard: string[] = [];
  let sessions = 0;
  let opened!: (s: Socket) => void;
  const sftpOpened = new Promise<Socket>((r) => {
    opened = r;
  });
  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    const sock = (client as unknown as { _sock: Socket })._sock;
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => ctx.accept());
    client.on("ready", () => {
      // A forward is heard and never answered (nor refused).
      client.on("tcpip", () => heard.push("TCPIP"));
      client.on("session", (accept) => {
        const session = accept();
        session.on("sftp", (acceptSftp, refuseSftp) => {
          sessions++;
          if (opts.refuseSubsystem) return refuseSftp();
          if (opts.answerSubsystem === false) return opened(sock);
          const sftp = acceptSftp();
          for (const ev of ["OPEN", "STAT", "LSTAT", "READ", "WRITE", "MKDIR", "CLOSE"])
            sftp.on(ev, () => heard.push(ev));
          opened(sock);
        });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sftpOpened,
    heard,
    sessions: () => sessions,
  };
}

function transport(port: number, limits: SshLimits = SSH_LIMITS): SshTransport {
  const [type, b64] = hostKey.public.split(" ");
  return new SshTransport(
    { kind: "ssh", host: "127.0.0.1", port, user: "deploy" },
    {
      user: "deploy",
      auth: [{ type: "none", username: "deploy" }],
      tried: [],
      knownHosts: parseKnownHosts(`[127.0.0.1]:${port} ${type} ${b64}\n`),
      knownHostsFiles: [],
    },
    limits,
  );
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup) f();
  cleanup = [];
});

describe("SshTransport.withSftp", () => {
  it("refuses (exit 2) a host whose sshd offers no SFTP, naming the sshd_config line", async () => {
    const remote = await silentSftpServer({ refuseSubsystem: true });
    const ssh = transport(remote.port);
    cleanup.push(
      () => ssh.close(),
      () => remote.server.close(),
    );
    const err = await ssh.withSftp(async () => "ran").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect(exitCodeFor(err)).toBe(2);
    expect((err as RefusedError).message).toMatch(/offers no SFTP/);
    expect((err as RefusedError).hint).toMatch(/Subsystem sftp internal-sftp/);
  });

  it("rejects at once, as a lost connection, when it drops while the SFTP session opens", async () => {
    const remote = await silentSftpServer({ answerSubsystem: false });
    const ssh = transport(remote.port);
    cleanup.push(
      () => ssh.close(),
      () => remote.server.close(),
    );
    const settled = ssh
      .withSftp(async () => "ran")
      .then(
        () => "resolved",
        (err: Error) => err,
      );
    const serverSide = await remote.sftpOpened;
    serverSide.resetAndDestroy();
    const outcome = await Promise.race([
      settled,
      new Promise<string>((r) => setTimeout(() => r("still waiting"), 2000).unref()),
    ]);
    // Not "offers no SFTP ... enable it in sshd_config": the server never said no.
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(
      /ssh: the connection to ssh:\/\/deploy@127\.0\.0\.1:\d+ was lost/,
    );
  });

  it("rejects a request in flight at once when the connection drops", async () => {
    const remote = await silentSftpServer();
    const ssh = transport(remote.port);
    cleanup.push(
      () => ssh.close(),
      () => remote.server.close(),
    );
    const pending = ssh.withSftp(
      (sftp) =>
        new Promise<Buffer>((resolve, reject) =>
          sftp.readFile("/etc/traefik/dynamic/web.yml", (err, b) => (err ? reject(err) : resolve(b))),
        ),
    );
    const settled = pending.then(
      () => "resolved",
      (err: Error) => err,
    );
    const serverSide = await remote.sftpOpened;
    await expect.poll(() => remote.heard).toContain("OPEN");
    // The network goes: the server's end of the TCP connection is reset under the request.
    serverSide.resetAndDestroy();
    const outcome = await Promise.race([
      settled,
      new Promise<string>((r) => setTimeout(() => r("still waiting"), 2000).unref()),
    ]);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(
      /ssh: the connection to ssh:\/\/deploy@127\.0\.0\.1:\d+ was lost/,
    );
    // The next file operation connects again and opens a new session, not the dead one's.
    void ssh.withSftp(async () => undefined).catch(() => undefined);
    await expect.poll(() => remote.sessions()).toBe(2);
  });
});

describe("SshTransport bounds", () => {
  const quick = { keepaliveMs: 100, keepaliveMissed: 2, channelOpenMs: 60_000, sftpMs: 60_000 };
  const connect = async (limits: SshLimits) => {
    const remote = await silentSftpServer();
    const ssh = transport(remote.port, limits);
    cleanup.push(
      () => ssh.close(),
      () => remote.server.close(),
    );
    return { remote, ssh };
  };
  const within = (p: Promise<unknown>, ms: number) =>
    Promise.race([
      p.then(
        () => "resolved",
        (err: Error) => err,
      ),
      new Promise<string>((r) => setTimeout(() => r("still waiting"), ms).unref()),
    ]);
  const readTraefikFile = (ssh: SshTransport) =>
    ssh.withSftp(
      (sftp) =>
        new Promise<Buffer>((resolve, reject) =>
          sftp.readFile("/etc/traefik/dynamic/web.yml", (err, b) => (err ? reject(err) : resolve(b))),
        ),
    );

  it("notices a peer that went silent (no reset, no FIN) within keepaliveMs x (missed + 1), and fails what was in flight", async () => {
    const { remote, ssh } = await connect(quick);
    const pending = readTraefikFile(ssh);
    const serverSide = await remote.sftpOpened;
    await expect.poll(() => remote.heard).toContain("OPEN");
    // The server stops reading: the keepalives go out and nothing ever comes back.
    serverSide.pause();
    const t0 = Date.now();
    const outcome = await within(pending, 3000);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(
      /ssh: the connection to ssh:\/\/deploy@127\.0\.0\.1:\d+ was lost/,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it("gives up SFTP work the server never answers after sftpMs", async () => {
    const { remote, ssh } = await connect({ ...quick, keepaliveMs: 60_000, sftpMs: 300 });
    const outcome = await within(readTraefikFile(ssh), 3000);
    expect(remote.heard).toContain("OPEN"); // heard, never answered
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/did not answer over SFTP within 0.3s/);
  });

  it("gives up a channel the server never opens after channelOpenMs", async () => {
    const { remote, ssh } = await connect({ ...quick, keepaliveMs: 60_000, channelOpenMs: 300 });
    const outcome = await within(ssh.forward("10.0.0.5", 8080, new AbortController().signal), 3000);
    expect(remote.heard).toContain("TCPIP");
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/did not open a channel within 0.3s/);
  });

  it("once closed, never dials again (a run that lost its lock)", async () => {
    const remote = await silentSftpServer();
    const ssh = transport(remote.port, quick);
    cleanup.push(() => remote.server.close());
    ssh.close();
    const outcome = await within(readTraefikFile(ssh), 3000);
    expect((outcome as Error).message).toMatch(/was closed/);
    expect(remote.sessions()).toBe(0);
  });
});
