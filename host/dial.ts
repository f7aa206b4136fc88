// Turns a resolved endpoint into dockerode options: the transport adapter behind connect().
// Every key docker-modem would otherwise take from the environment is set explicitly, because
// docker-modem reads DOCKER_HOST/DOCKER_CERT_PATH itself and merges them UNDER our options:
// -H or a context must not be mixed with a DOCKER_HOST the user did not mean.
import { readFileSync } from "node:fs";
import type https from "node:https";
import { createRequire } from "node:module";
import { homedir, userInfo } from "node:os";
import type Docker from "dockerode";
import { EngineError } from "../controller/errors.js";
import type { Endpoint } from "./host.js";
import type { SshTransport } from "./ssh.js";

// ssh2 and ssh-config, heavy to load, load only for an ssh:// engine: require(esm), so
// dial() stays sync.
const require = createRequire(import.meta.url);
const sshModules = () => ({
  ...(require("./ssh.js") as typeof import("./ssh.js")),
  ...(require("./sshAuth.js") as typeof import("./sshAuth.js")),
  ...(require("./sshConfig.js") as typeof import("./sshConfig.js")),
});

export interface Dialed {
  options: Docker.DockerOptions;
  /** Ends what the transport holds open (the ssh connection); a no-op for sockets and TLS. */
  close(): void;
  /** For ssh: a local socket reaching the same engine through this connection (for docker CLI calls). */
  localSocket?: () => Promise<string>;
  /** For ssh: the connection itself, for the Docker host's files and network (host/hostio.ts). */
  ssh?: SshTransport;
}

const UNSET = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  agent: undefined,
} as const;

export function dial(e: Endpoint, env: NodeJS.ProcessEnv): Dialed {
  switch (e.kind) {
    case "unix":
      return { options: { ...UNSET, socketPath: e.socketPath } as Docker.DockerOptions, close: () => {} };
    case "tcp": {
      if (!e.tls) {
        return {
          options: { ...UNSET, protocol: "http", host: e.host, port: e.port } as Docker.DockerOptions,
          close: () => {},
        };
      }
      const read = (f: string | undefined) => {
        if (!f) return undefined;
        try {
          return readFileSync(f);
        } catch (err) {
          throw new EngineError(
            `cannot read ${f}: ${(err as Error).message}`,
            "check DOCKER_CERT_PATH (or the context's TLS files)",
          );
        }
      };
      // https.request verifies the chain against `ca` (system roots without one) and the
      // name/IP against the certificate: rejectUnauthorized is on unless a context said skip.
      const options = {
        ...UNSET,
        protocol: "https",
        host: e.host,
        port: e.port,
        ca: read(e.tls.ca),
        cert: read(e.tls.cert),
        key: read(e.tls.key),
        ...(e.tls.verify ? {} : { checkServerIdentity: () => undefined }),
      } as Docker.DockerOptions;
      if (!e.tls.verify) (options as Record<string, unknown>).agent = insecureAgent();
      return { options, close: () => {} };
    }
    case "ssh": {
      const { SshTransport, sshSetup, applySshConfig, readSshConfig } = sshModules();
      // ~/.ssh/config: a Host alias's HostName, Port, User and IdentityFile (host/sshConfig.ts).
      const home = env.HOME || homedir();
      const target = applySshConfig(e, readSshConfig(home), {
        home,
        localUser: env.USER || userInfo().username,
      });
      const to: Endpoint = {
        kind: "ssh",
        host: target.host,
        port: target.port,
        ...(target.user ? { user: target.user } : {}),
      };
      const transport = new SshTransport(to, sshSetup(to, env, target));
      // Plain HTTP over the channels the agent opens; "docker" is the Host header the CLI sends.
      const options = {
        ...UNSET,
        protocol: "http",
        host: "docker",
        port: 80,
        agent: transport.agent,
      } as Docker.DockerOptions;
      return {
        options,
        close: () => transport.close(),
        localSocket: () => transport.listen(),
        ssh: transport,
      };
    }
  }
}

/** Only for a context created with --docker skip-tls-verify=true: the user's explicit choice. */
function insecureAgent(): https.Agent {
  // node:https only here: it loads tls and OpenSSL's TLS code, megabytes of memory a unix://
  // or plain tcp:// engine never uses.
  return new (process.getBuiltinModule("node:https").Agent)({ rejectUnauthorized: false });
}

/** Node's codes for a certificate chain or name that did not verify. */
const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** A hint for transport failures the generic Docker hints do not cover (TLS), else undefined. */
export function transportHint(err: unknown, where: string): string | undefined {
  const code = (err as { code?: string } | undefined)?.code ?? "";
  if (code === "ENOENT" || code === "ECONNREFUSED") {
    return `start Docker there, or point -H / DOCKER_HOST / --context at where it runs (tried ${where})`;
  }
  if (TLS_CODES.has(code)) {
    return `the engine's TLS certificate at ${where} did not verify (${code}): put the CA that signed it in DOCKER_CERT_PATH/ca.pem (or the context's TLS), and make sure the certificate names that host`;
  }
  if (code === "EPROTO" || code.startsWith("ERR_SSL")) {
    return `the TLS handshake with ${where} failed: is it a TLS port, and does it accept our client certificate (DOCKER_CERT_PATH/cert.pem, key.pem)?`;
  }
  return undefined;
}
