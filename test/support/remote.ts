// Remote Docker hosts for the e2e tests, made of real parts: a TLS endpoint (Node's tls, with
// certificates openssl makes here) in front of the local engine's socket, and Debian's sshd on
// a loopback port with its own host key and an authorized key, so `docker system dial-stdio`
// runs on "the remote side" exactly as it would on a production host.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:tls";
import { freePort } from "./stack.js";

const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: "pipe" });

/** A CA and a certificate it signs for `cn` (with subjectAltName `san`), in `dir`. */
function sign(dir: string, ca: string, name: string, cn: string, ext: string): void {
  openssl(["genrsa", "-out", `${name}-key.pem`, "2048"], dir);
  openssl(["req", "-new", "-key", `${name}-key.pem`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}-key.pem`,
      "-CAcreateserial",
    ].concat(["-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.pem`]),
    dir,
  );
}

function makeCa(dir: string, name: string): void {
  openssl(["genrsa", "-out", `${name}-key.pem`, "2048"], dir);
  openssl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      `${name}-key.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-out",
      `${name}.pem`,
    ],
    dir,
  );
}

export interface Certs {
  /** A DOCKER_CERT_PATH that verifies the server: ca.pem, cert.pem, key.pem. */
  good: string;
  /** A DOCKER_CERT_PATH whose ca.pem is another CA (the client cert is still valid). */
  wrongCa: string;
  server: { key: Buffer; cert: Buffer; ca: Buffer };
}

/** CA, server certificate for 127.0.0.1, client certificate, and a second CA that signed nothing. */
export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), "compose-roll-tls-"));
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  sign(dir, "ca", "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  sign(dir, "ca", "client", "compose-roll", "extendedKeyUsage=clientAuth\n");
  const certPath = (name: string, ca: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    writeFileSync(join(d, "ca.pem"), readFileSync(join(dir, `${ca}.pem`)));
    writeFileSync(join(d, "cert.pem"), readFileSync(join(dir, "client.pem")));
    writeFileSync(join(d, "key.pem"), readFileSync(join(dir, "client-key.pem")));
    return d;
  };
  return {
    good: certPath("good", "ca"),
    wrongCa: certPath("wrong-ca", "other-ca"),
    server: {
      key: readFileSync(join(dir, "server-key.pem")),
      cert: readFileSync(join(dir, "server.pem")),
      ca: readFileSync(join(dir, "ca.pem")),
    },
  };
}

/** A TLS endpoint (client certificates required, as dockerd --tlsverify) in front of the local socket. */
export async function startTlsProxy(
  certs: Certs,
): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  let accepted = 0;
  const server = createServer({ ...certs.server, requestCert: true, rejectUnauthorized: true }, (tls) => {
    accepted++;
    const up = netConnect("/var/run/docker.sock");
    tls.pipe(up).pipe(tls);
    const end = () => {
      tls.destroy();
      up.destroy();
    };
    tls.on("error", end);
    up.on("error", end);
  });
  server.on("tlsClientError", () => {});
  const port = await freePort();
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  return {
    port,
    connections: () => accepted,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export interface Sshd {
  port: number;
  url: string;
  /** A HOME for the client: .ssh/id_ed25519 authorized on the server, .ssh/known_hosts with its key. */
  home: string;
  /** The known_hosts line for this server. */
  knownHostsLine: string;
  /** sshd's log so far (-e: to stderr). */
  log(): string;
  /**
   * SIGSTOP (true) or SIGCONT (false) to sshd and every process it forked: each open
   * connection stays up and answers nothing, as a host whose network silently went away.
   */
  freeze(stopped: boolean): void;
  stop(): Promise<void>;
}

/** `pid` and every process below it, from /proc. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i] as number) ?? []));
  return out;
}

/**
 * Debian's sshd on 127.0.0.1:<free port>, root login by key only, its own host key, SFTP
 * (internal-sftp, as Debian's own `Subsystem sftp` line) and TCP forwarding (OpenSSH's
 * default). `logLevel: "DEBUG1"` logs each forwarded connection's target.
 */
export async function startSshd(opts: { logLevel?: string; setEnv?: string } = {}): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), "compose-roll-sshd-"));
  const home = join(dir, "home");
  mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(home, ".ssh", "id_ed25519")]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(home, ".ssh", "id_ed25519.pub")), {
    mode: 0o600,
  });
  const port = await freePort();
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      // The temp dir is world-readable /tmp: StrictModes would refuse the authorized_keys there.
      "StrictModes no",
      "PidFile none",
      "MaxSessions 64",
      "Subsystem sftp internal-sftp",
      `LogLevel ${opts.logLevel ?? "INFO"}`,
      // E.g. DOCKER_HOST for the sessions (`docker system dial-stdio` then dials it).
      ...(opts.setEnv ? [`SetEnv ${opts.setEnv}`] : []),
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true }); // sshd's privilege-separation directory
  const child: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr?.on("data", (d: Buffer) => {
    log += d;
  });
  await waitForPort(port, () => log);
  const hostKey = readFileSync(join(dir, "host_key.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  const knownHostsLine = `[127.0.0.1]:${port} ${hostKey}\n`;
  writeFileSync(join(home, ".ssh", "known_hosts"), knownHostsLine);
  return {
    port,
    url: `ssh://root@127.0.0.1:${port}`,
    home,
    knownHostsLine,
    log: () => log,
    freeze: (stopped) => {
      for (const p of tree(child.pid as number)) {
        try {
          process.kill(p, stopped ? "SIGSTOP" : "SIGCONT");
        } catch {
          // exited meanwhile
        }
      }
    },
    stop: async () => {
      if (child.pid) process.kill(child.pid, "SIGCONT");
      child.kill("SIGTERM");
    },
  };
}

async function waitForPort(port: number, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}
