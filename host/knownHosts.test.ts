import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hostName, keyTypeOf, matches, parseKnownHosts, verify } from "./knownHosts.js";
import { hostKeyAlgorithms } from "./sshAuth.js";

/** A public key blob of the given type: string type, then some bytes (enough for comparison). */
function blob(type: string, seed: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(seed)]);
}

const A = blob("ssh-ed25519", "key-a");
const B = blob("ssh-ed25519", "key-b");
const R = blob("ssh-rsa", "key-r");

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}

describe("known_hosts", () => {
  it("names hosts as ssh does: bare on port 22, [host]:port otherwise", () => {
    expect(hostName("prod", 22)).toBe("prod");
    expect(hostName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
  });

  it("accepts the listed key, in plain and hashed entries", () => {
    const text = `# comment\nprod,10.0.0.1 ssh-ed25519 ${A.toString("base64")}\n${hashed("[127.0.0.1]:2222")} ssh-ed25519 ${A.toString("base64")} c\n`;
    const entries = parseKnownHosts(text, "kh");
    expect(entries).toHaveLength(2);
    expect(verify(entries, "prod", 22, A)).toMatchObject({ ok: true, entry: { line: 2 } });
    expect(verify(entries, "10.0.0.1", 22, A).ok).toBe(true);
    expect(verify(entries, "127.0.0.1", 2222, A)).toMatchObject({ ok: true, entry: { line: 3 } });
  });

  it("calls a host with no entry unknown, and another key a mismatch naming the line", () => {
    const entries = parseKnownHosts(`prod ssh-ed25519 ${A.toString("base64")}\n`, "kh");
    expect(verify(entries, "other", 22, A)).toEqual({ ok: false, reason: "unknown" });
    // Same name on another port is another host for ssh.
    expect(verify(entries, "prod", 2222, A)).toEqual({ ok: false, reason: "unknown" });
    expect(verify(entries, "prod", 22, B)).toMatchObject({
      ok: false,
      reason: "mismatch",
      entry: { file: "kh", line: 1 },
    });
  });

  it("refuses a @revoked key even when it is also listed, and ignores @cert-authority lines", () => {
    const text = `prod ssh-ed25519 ${A.toString("base64")}\n@revoked * ssh-ed25519 ${A.toString("base64")}\n@cert-authority * ssh-ed25519 ${B.toString("base64")}\n`;
    const entries = parseKnownHosts(text);
    expect(verify(entries, "prod", 22, A)).toMatchObject({ ok: false, reason: "revoked" });
    expect(verify(entries, "prod", 22, B)).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("matches wildcards and negations", () => {
    expect(matches(["*.example.com"], "web.example.com")).toBe(true);
    expect(matches(["*.example.com", "!db.example.com"], "db.example.com")).toBe(false);
    expect(matches(["web?"], "web1")).toBe(true);
    expect(matches(["web?"], "web12")).toBe(false);
    expect(matches(["Prod"], "prod")).toBe(true);
  });

  it("skips malformed lines as ssh does", () => {
    expect(parseKnownHosts("garbage\n\nprod ssh-ed25519\n")).toEqual([]);
  });

  it("offers the host key types already known for the host first", () => {
    const entries = parseKnownHosts(`prod ssh-rsa ${R.toString("base64")}\n`);
    expect(keyTypeOf(R)).toBe("ssh-rsa");
    expect(hostKeyAlgorithms(entries, "prod").slice(0, 2)).toEqual(["rsa-sha2-512", "rsa-sha2-256"]);
    expect(hostKeyAlgorithms(entries, "other")[0]).toBe("ssh-ed25519");
  });
});
