// ~/.ssh/config for ssh:// Docker hosts, as OpenSSH applies it: `DOCKER_HOST=ssh://prod` with
// a `Host prod` block connects to its HostName, Port and User with its IdentityFile(s).
// Parsed by the `ssh-config` package (first value wins, Host patterns and Match as
// ssh_config(5)); `Match exec` is never run. What the URL names wins, as `ssh -l user -p
// port` beats the config. Include is not followed (ssh-config does not): a known limit.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import SSHConfig from "ssh-config";
import type { Endpoint } from "./host.js";

export type SshEndpoint = Extract<Endpoint, { kind: "ssh" }>;

export interface SshTarget {
  host: string;
  port: number;
  user?: string;
  /** IdentityFile(s), expanded; OpenSSH's default identities are tried only without any. */
  identityFiles?: string[];
  /** IdentitiesOnly yes: only those files, not every key the agent holds. */
  identitiesOnly?: boolean;
  /** The alias the URL named, when a Host block changed where it goes (for messages). */
  alias?: string;
}

export interface SshConfigContext {
  home: string;
  localUser: string;
}

/** The config file's text, or undefined when there is none. */
export function readSshConfig(home: string): string | undefined {
  try {
    return readFileSync(join(home, ".ssh", "config"), "utf8");
  } catch {
    return undefined;
  }
}

/** Where `e` really goes once `config` (the text of ~/.ssh/config) is applied. */
export function applySshConfig(e: SshEndpoint, config: string | undefined, ctx: SshConfigContext): SshTarget {
  const base: SshTarget = { host: e.host, port: e.port, ...(e.user ? { user: e.user } : {}) };
  if (!config) return base;
  const c = SSHConfig.parse(config).compute(e.host, { ignoreCase: true, matchExec: false });
  const one = (k: string): string | undefined => {
    const v = c[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const host = one("hostname")?.replace(/%h/g, e.host) ?? e.host;
  const port = e.defaultPort && one("port") ? Number(one("port")) : e.port;
  const user = e.user ?? one("user");
  const t: SshTarget = { host, port: Number.isInteger(port) ? port : e.port, ...(user ? { user } : {}) };
  if (host !== e.host) t.alias = e.host;
  const files = c.identityfile;
  if (files) {
    const expand = (f: string) =>
      f
        .replace(/^~(?=\/|$)/, ctx.home)
        .replace(/%(.)/g, (m, k: string) =>
          k === "d"
            ? ctx.home
            : k === "u"
              ? ctx.localUser
              : k === "h"
                ? host
                : k === "r"
                  ? (user ?? ctx.localUser)
                  : k === "p"
                    ? String(t.port)
                    : k === "%"
                      ? "%"
                      : m,
        );
    t.identityFiles = (Array.isArray(files) ? files : [files]).map(expand);
  }
  if (one("identitiesonly")?.toLowerCase() === "yes") t.identitiesOnly = true;
  return t;
}
