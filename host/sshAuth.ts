// Who compose-roll is on an ssh:// Docker host and whom it trusts: the keys it offers (the
// agent, then OpenSSH's default identity files) and the host keys it accepts (known_hosts).
// Kept apart from the transport (host/ssh.ts) so both stay readable and testable.
import { readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import ssh2, { type AnyAuthMethod, type ServerHostKeyAlgorithm } from "ssh2";
import { EngineError } from "../controller/errors.js";
import type { Endpoint } from "./host.js";
import { type KnownHost, loadKnownHosts, matches, type verify } from "./knownHosts.js";

// ssh2 is CommonJS: its named exports are not visible to ESM, only the default object.
const { utils } = ssh2;

type SshEndpoint = Extract<Endpoint, { kind: "ssh" }>;

/** OpenSSH's default identities, in its order (ssh_config IdentityFile). */
const IDENTITIES = ["id_rsa", "id_ecdsa", "id_ed25519"];

export interface SshSetup {
  user: string;
  auth: AnyAuthMethod[];
  /** What was looked at, for the message when nothing is accepted. */
  tried: string[];
  knownHosts: KnownHost[];
  knownHostsFiles: string[];
}

/**
 * Keys from the agent (SSH_AUTH_SOCK), then ~/.ssh/config's IdentityFile(s) or else
 * ~/.ssh/id_*; host keys from the known_hosts files. IdentitiesOnly leaves the agent out.
 */
export function sshSetup(
  e: SshEndpoint,
  env: NodeJS.ProcessEnv,
  config: { identityFiles?: string[]; identitiesOnly?: boolean } = {},
): SshSetup {
  const home = env.HOME || homedir();
  const user = e.user || env.USER || userInfo().username;
  const auth: AnyAuthMethod[] = [];
  const tried: string[] = [];
  if (env.SSH_AUTH_SOCK && !config.identitiesOnly) {
    auth.push({ type: "agent", username: user, agent: env.SSH_AUTH_SOCK });
    tried.push(`the agent at ${env.SSH_AUTH_SOCK}`);
  }
  for (const file of config.identityFiles ?? IDENTITIES.map((name) => join(home, ".ssh", name))) {
    let text: Buffer;
    try {
      text = readFileSync(file);
    } catch {
      continue;
    }
    const parsed = utils.parseKey(text);
    if (parsed instanceof Error) {
      // An encrypted key needs a passphrase a runner cannot type: load it into an agent instead.
      tried.push(`${file} (skipped: ${parsed.message}; add it to ssh-agent)`);
      continue;
    }
    auth.push({ type: "publickey", username: user, key: text });
    tried.push(file);
  }
  const knownHostsFiles = [
    join(home, ".ssh", "known_hosts"),
    join(home, ".ssh", "known_hosts2"),
    "/etc/ssh/ssh_known_hosts",
  ];
  return { user, auth, tried, knownHosts: loadKnownHosts(knownHostsFiles), knownHostsFiles };
}

/** Host key algorithms to offer, those already known for the host first (as ssh orders them). */
export function hostKeyAlgorithms(known: KnownHost[], name: string): ServerHostKeyAlgorithm[] {
  const all: ServerHostKeyAlgorithm[] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
  ];
  const types = new Set(known.filter((k) => !k.marker && matches(k.patterns, name)).map((k) => k.keyType));
  const isKnown = (a: ServerHostKeyAlgorithm) => types.has(a.startsWith("rsa-") ? "ssh-rsa" : a);
  return [...all.filter(isKnown), ...all.filter((a) => !isKnown(a))];
}

/** The one-line refusal (and its fix) for a host key known_hosts does not vouch for. */
export function hostKeyRefusal(
  v: Exclude<ReturnType<typeof verify>, { ok: true }>,
  name: string,
  e: SshEndpoint,
  type: string,
  knownHostsFile: string,
): EngineError {
  const scan = `ssh-keyscan ${e.port === 22 ? "" : `-p ${e.port} `}${e.host} >> ${knownHostsFile}`;
  if (v.reason === "unknown") {
    return new EngineError(
      `ssh: the host key of ${name} (${type}) is not in known_hosts, so the host cannot be trusted`,
      `check the key's fingerprint with the host's owner, then: ${scan} (or \`ssh ${e.port === 22 ? "" : `-p ${e.port} `}${e.host}\` once and accept it)`,
    );
  }
  return new EngineError(
    v.reason === "revoked"
      ? `ssh: the host key of ${name} is marked @revoked in ${v.entry.file}:${v.entry.line}`
      : `ssh: the host key of ${name} (${type}) does not match ${v.entry.file}:${v.entry.line}: someone may be intercepting the connection, or the host was reinstalled`,
    `if the host really changed its key: ssh-keygen -R '${name}' -f ${v.entry.file} && ${scan}`,
  );
}
