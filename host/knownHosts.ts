// Host key checking for ssh:// Docker hosts, as OpenSSH does it with StrictHostKeyChecking=yes.
// docker-modem hands ssh2 no hostVerifier, and ssh2 then accepts ANY host key: whoever answers
// on that address would get our Docker API calls. So the key the server shows must already be in
// known_hosts; an unknown host or a different key is refused (a runner cannot ask a human).
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

export interface KnownHost {
  file: string;
  line: number;
  /** Host patterns (comma-separated in the file), or a hashed `|1|salt|hash` entry. */
  patterns: string[];
  keyType: string;
  /** The raw public key blob (base64-decoded), as the server sends it. */
  key: Buffer;
  marker?: "@cert-authority" | "@revoked";
}

/** Parses one known_hosts file's text; malformed lines are skipped, as ssh does. */
export function parseKnownHosts(text: string, file = "known_hosts"): KnownHost[] {
  const out: KnownHost[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    let marker: KnownHost["marker"];
    if (fields[0] === "@cert-authority" || fields[0] === "@revoked")
      marker = fields.shift() as KnownHost["marker"];
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) return;
    out.push({
      file,
      line: i + 1,
      patterns: hosts.split(","),
      keyType,
      key: Buffer.from(b64, "base64"),
      ...(marker ? { marker } : {}),
    });
  });
  return out;
}

/** How ssh names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function hostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** ssh's pattern matching: `*` and `?` wildcards, `!` negates, hashed entries compared by HMAC-SHA1. */
export function matches(patterns: string[], name: string): boolean {
  let hit = false;
  for (const p of patterns) {
    if (p.startsWith("|1|")) {
      const [, , salt, hash] = p.split("|");
      if (!salt || !hash) continue;
      const mine = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
      if (mine === hash) hit = true;
      continue;
    }
    const negated = p.startsWith("!");
    const glob = negated ? p.slice(1) : p;
    const re = new RegExp(
      `^${glob
        .toLowerCase()
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
    );
    if (re.test(name.toLowerCase())) {
      if (negated) return false;
      hit = true;
    }
  }
  return hit;
}

export type Verdict =
  | { ok: true; entry: KnownHost }
  | { ok: false; reason: "unknown" }
  | { ok: false; reason: "mismatch" | "revoked"; entry: KnownHost };

/** The key type inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return "unknown";
  const n = key.readUInt32BE(0);
  return key.subarray(4, 4 + n).toString("latin1");
}

/** Checks the server's key against the entries for `host`/`port`, like ssh's check_host_key(). */
export function verify(entries: KnownHost[], host: string, port: number, key: Buffer): Verdict {
  const name = hostName(host, port);
  const mine = entries.filter((e) => matches(e.patterns, name));
  const revoked = mine.find((e) => e.marker === "@revoked" && e.key.equals(key));
  if (revoked) return { ok: false, reason: "revoked", entry: revoked };
  const plain = mine.filter((e) => !e.marker);
  const same = plain.find((e) => e.key.equals(key));
  if (same) return { ok: true, entry: same };
  // ssh only calls it a changed key when an entry of the SAME type differs; a host that has
  // only other key types listed is, for this key, unknown (ssh then prints the same warning).
  const type = keyTypeOf(key);
  const other = plain.find((e) => e.keyType === type) ?? plain[0];
  if (other) return { ok: false, reason: "mismatch", entry: other };
  return { ok: false, reason: "unknown" };
}

/** Reads every file that exists among `files` (missing ones are simply empty, as for ssh). */
export function loadKnownHosts(files: string[]): KnownHost[] {
  return files.flatMap((file) => {
    try {
      return parseKnownHosts(readFileSync(file, "utf8"), file);
    } catch {
      return [];
    }
  });
}
