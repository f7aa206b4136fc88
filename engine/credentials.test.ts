import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { authKeyOf, configPath, credentialsFor, DOCKER_HUB, registryOf } from "./credentials.js";

// Reference grammar pieces (distribution/reference): lower-case path components, tags, digests.
const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)?$/).filter((s) => s.length <= 20);
const hubComponent = component.filter((s) => !s.includes(".") && s !== "localhost");
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}$/);
const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`);
const suffix = fc.oneof(
  fc.constant(""),
  tag.map((t) => `:${t}`),
  digest.map((d) => `@${d}`),
  fc.tuple(tag, digest).map(([t, d]) => `:${t}@${d}`),
);
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
const dottedHost = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join("."));
const port = fc.integer({ min: 1, max: 65535 });
const host = fc.oneof(
  dottedHost,
  fc.tuple(dottedHost, port).map(([h, p]) => `${h}:${p}`),
  fc.tuple(label, port).map(([h, p]) => `${h}:${p}`),
  port.map((p) => `localhost:${p}`),
  port.map((p) => `127.0.0.1:${p}`),
  fc.constant("localhost"),
);
const path = fc.array(component, { minLength: 1, maxLength: 3 }).map((c) => c.join("/"));

describe("registryOf: the registry host docker pulls a reference from", () => {
  it("is Docker Hub for names without a host component", () => {
    fc.assert(
      fc.property(fc.array(hubComponent, { minLength: 1, maxLength: 3 }), suffix, (parts, s) => {
        expect(registryOf(`${parts.join("/")}${s}`)).toBe(DOCKER_HUB);
      }),
    );
  });

  it("is the first component when it has a dot or a port, or is localhost", () => {
    fc.assert(
      fc.property(host, path, suffix, (h, p, s) => {
        expect(registryOf(`${h}/${p}${s}`)).toBe(h);
      }),
    );
  });

  it("does not depend on the tag or digest", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          path,
          fc.tuple(host, path).map(([h, p]) => `${h}/${p}`),
        ),
        suffix,
        (name, s) => {
          expect(registryOf(`${name}${s}`)).toBe(registryOf(name));
        },
      ),
    );
  });

  it("handles docker's edge cases", () => {
    expect(registryOf("localhost")).toBe(DOCKER_HUB); // an image named localhost, on Hub
    expect(registryOf("localhost:5000")).toBe(DOCKER_HUB); // image "localhost", tag "5000"
    expect(registryOf("localhost/app")).toBe("localhost");
    expect(registryOf("index.docker.io/library/nginx")).toBe(DOCKER_HUB);
    expect(registryOf("docker.io/library/nginx:1")).toBe(DOCKER_HUB);
    expect(registryOf("Registry/app")).toBe("Registry");
    expect(registryOf("ghcr.io/org/app@sha256:abc")).toBe("ghcr.io");
    expect(authKeyOf(DOCKER_HUB)).toBe("https://index.docker.io/v1/");
    expect(authKeyOf("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });
});

describe("credentialsFor", () => {
  let dir: string;
  const env = () => ({ DOCKER_CONFIG: dir });
  const write = (config: unknown) => writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  let oldPath: string | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "cr-creds-"));
    // A credential helper following docker-credential-helpers' protocol: knows one server.
    const helper = join(dir, "docker-credential-test");
    writeFileSync(
      helper,
      `#!/bin/sh
[ "$1" = get ] || exit 2
read -r url
case "$url" in
  reg.example.com) echo '{"ServerURL":"reg.example.com","Username":"bob","Secret":"hunter2"}' ;;
  tok.example.com) echo '{"ServerURL":"tok.example.com","Username":"<token>","Secret":"refresh-tok"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"hubuser","Secret":"hubpass"}' ;;
  broken.example.com) echo "keychain locked" >&2; exit 1 ;;
  loud.example.com) head -c 3000000 /dev/zero | tr '\\0' x >&2; exit 1 ;;
  huge.example.com) head -c 3000000 /dev/zero | tr '\\0' x ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    chmodSync(helper, 0o755);
    oldPath = process.env.PATH;
    process.env.PATH = `${dir}${delimiter}${oldPath ?? ""}`;
  });
  afterAll(() => {
    process.env.PATH = oldPath;
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads $DOCKER_CONFIG/config.json, else ~/.docker/config.json", () => {
    expect(configPath({ DOCKER_CONFIG: "/x" })).toBe("/x/config.json");
    expect(configPath({})).toMatch(/\.docker\/config\.json$/);
  });

  it("is anonymous without a config file or an entry", async () => {
    rmSync(join(dir, "config.json"), { force: true });
    expect(await credentialsFor("127.0.0.1:5000/app:v1", { env: env() })).toBeUndefined();
    write({ auths: { "other:5000": { auth: b64("a:b") } } });
    expect(await credentialsFor("127.0.0.1:5000/app:v1", { env: env() })).toBeUndefined();
  });

  it("decodes auths: base64 auth, username/password, identitytoken, Hub's v1 key", async () => {
    write({
      auths: {
        "127.0.0.1:5000": { auth: b64("alice:pa:ss") },
        "reg.example.com": { username: "u", password: "p" },
        "tok.example.com": { identitytoken: "t0k" },
        "https://index.docker.io/v1/": { auth: b64("hub:secret") },
        "https://old.example.com/v1/": { auth: b64("old:pw") },
      },
    });
    const e = { env: env() };
    expect(await credentialsFor("127.0.0.1:5000/demo/app:v2", e)).toEqual({
      serveraddress: "127.0.0.1:5000",
      username: "alice",
      password: "pa:ss",
    });
    expect(await credentialsFor("reg.example.com/app", e)).toMatchObject({ username: "u", password: "p" });
    expect(await credentialsFor("tok.example.com/app", e)).toEqual({
      serveraddress: "tok.example.com",
      identitytoken: "t0k",
    });
    expect(await credentialsFor("nginx:1", e)).toEqual({
      serveraddress: "https://index.docker.io/v1/",
      username: "hub",
      password: "secret",
    });
    expect(await credentialsFor("old.example.com/app", e)).toMatchObject({ username: "old" });
  });

  it("refuses a config that is not JSON or a malformed auth, naming the file", async () => {
    writeFileSync(join(dir, "config.json"), "{nope");
    await expect(credentialsFor("x.io/app", { env: env() })).rejects.toThrow(
      /config\.json is not valid JSON/,
    );
    write({ auths: { "x.io": { auth: b64("nocolon") } } });
    await expect(credentialsFor("x.io/app", { env: env() })).rejects.toThrow(RefusedError);
  });

  it("asks credHelpers[host] first, then credsStore, through docker-credential-<name>", async () => {
    write({
      auths: { "reg.example.com": { auth: b64("ignored:ignored") } },
      credHelpers: { "reg.example.com": "test", "tok.example.com": "test" },
    });
    const e = { env: env() };
    expect(await credentialsFor("reg.example.com/app:v1", e)).toEqual({
      serveraddress: "reg.example.com",
      username: "bob",
      password: "hunter2",
    });
    expect(await credentialsFor("tok.example.com/app", e)).toEqual({
      serveraddress: "tok.example.com",
      identitytoken: "refresh-tok",
    });
    write({ credHelpers: { "index.docker.io": "test" } });
    expect(await credentialsFor("nginx", e)).toMatchObject({ username: "hubuser" });
    write({ credsStore: "test" });
    expect(await credentialsFor("library/nginx", e)).toMatchObject({ username: "hubuser" });
    // "credentials not found" is an anonymous pull, as in docker.
    expect(await credentialsFor("unknown.example.com/app", e)).toBeUndefined();
  });

  it("refuses when a helper fails or is missing, with one line naming it", async () => {
    write({ credsStore: "test" });
    await expect(credentialsFor("broken.example.com/app", { env: env() })).rejects.toThrow(
      /docker-credential-test failed for broken.example.com: keychain locked/,
    );
    write({ credsStore: "nosuchhelper" });
    await expect(credentialsFor("reg.example.com/app", { env: env() })).rejects.toThrow(
      /docker-credential-nosuchhelper .* is not on PATH/,
    );
  });

  it("refuses a helper name that is not [a-z0-9_-], before running anything", async () => {
    const ran: string[] = [];
    const run = async (program: string) => {
      ran.push(program);
      return { code: 0, stdout: "{}", stderr: "" };
    };
    for (const name of ["../../tmp/evil", "/usr/bin/id", "test;id", "Test", "a b"]) {
      write({ credHelpers: { "reg.example.com": name } });
      const err = await credentialsFor("reg.example.com/app", { env: env(), run }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as Error).message).toMatch(/is not a credential helper name/);
    }
    expect(ran).toEqual([]);
  });

  it("reads at most a bounded answer from a helper: a flood on stderr or stdout is cut", async () => {
    write({ credsStore: "test" });
    const loud = await credentialsFor("loud.example.com/app", { env: env() }).catch((e: unknown) => e);
    expect(loud).toBeInstanceOf(RefusedError);
    expect((loud as Error).message.length).toBeLessThan(600);
    const huge = await credentialsFor("huge.example.com/app", { env: env() }).catch((e: unknown) => e);
    expect(huge).toBeInstanceOf(RefusedError);
    expect((huge as Error).message).toMatch(/more than 64 KiB/);
  });
});
