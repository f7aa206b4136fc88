import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { configDir, contextId, currentContext, readContext } from "./contexts.js";
import { insecureWarning, parseHost, resolveHost, describe as show } from "./host.js";

let dir: string;

/** A context as `docker context create <name> --docker host=<host>` stores it. */
function makeContext(name: string, host: string, tls: string[] = [], skip = false): void {
  const meta = join(dir, "contexts", "meta", contextId(name));
  mkdirSync(meta, { recursive: true });
  writeFileSync(
    join(meta, "meta.json"),
    JSON.stringify({
      Name: name,
      Metadata: { Description: "" },
      Endpoints: { docker: { Host: host, SkipTLSVerify: skip } },
    }),
  );
  const tlsDir = join(dir, "contexts", "tls", contextId(name), "docker");
  if (tls.length) mkdirSync(tlsDir, { recursive: true });
  for (const f of tls) writeFileSync(join(tlsDir, `${f}.pem`), "x");
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { DOCKER_CONFIG: dir, ...extra };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "compose-roll-host-"));
});

describe("resolveHost: the docker CLI's order", () => {
  it("uses the default socket when nothing is set", () => {
    const r = resolveHost({}, env());
    expect(r.endpoint).toEqual({ kind: "unix", socketPath: "/var/run/docker.sock" });
    expect(r.source).toBe("default");
    expect(r.cliEnv).toEqual({ DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined });
  });

  it("takes the current context from config.json", () => {
    makeContext("prod", "ssh://deploy@prod.example.com:2222");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ currentContext: "prod", auths: {} }));
    const r = resolveHost({}, env());
    expect(r.endpoint).toEqual({ kind: "ssh", user: "deploy", host: "prod.example.com", port: 2222 });
    expect(r.source).toMatch(/context "prod" \(currentContext/);
    expect(r.cliEnv).toEqual({ DOCKER_CONTEXT: "prod", DOCKER_HOST: undefined });
  });

  it("DOCKER_CONTEXT beats config.json, DOCKER_HOST beats DOCKER_CONTEXT, -H beats DOCKER_HOST", () => {
    makeContext("prod", "ssh://prod");
    makeContext("stage", "ssh://stage");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ currentContext: "prod" }));
    const e = env({ DOCKER_CONTEXT: "stage" });
    expect(resolveHost({}, e).url).toBe("ssh://stage");
    e.DOCKER_HOST = "tcp://10.0.0.1:2375";
    expect(resolveHost({}, e).url).toBe("tcp://10.0.0.1:2375");
    expect(resolveHost({}, e).cliEnv).toEqual({
      DOCKER_HOST: "tcp://10.0.0.1:2375",
      DOCKER_CONTEXT: undefined,
    });
    const h = resolveHost({ host: "unix:///tmp/d.sock" }, e);
    expect(h.endpoint).toEqual({ kind: "unix", socketPath: "/tmp/d.sock" });
    expect(h.source).toBe("-H");
  });

  it("--context beats DOCKER_HOST, as in the CLI; `default` is DOCKER_HOST or the socket", () => {
    makeContext("prod", "ssh://prod");
    const e = env({ DOCKER_HOST: "tcp://10.0.0.1:2375" });
    expect(resolveHost({ context: "prod" }, e).url).toBe("ssh://prod");
    expect(resolveHost({ context: "default" }, e).url).toBe("tcp://10.0.0.1:2375");
    expect(resolveHost({ context: "default" }, env()).url).toBe("unix:///var/run/docker.sock");
  });

  it("refuses -H together with --context, and a context that does not exist", () => {
    expect(() => resolveHost({ host: "ssh://a", context: "b" }, env())).toThrow(/both -H/);
    expect(() => resolveHost({ context: "nope" }, env())).toThrow(RefusedError);
    const err = (() => {
      try {
        resolveHost({ context: "nope" }, env());
      } catch (e) {
        return e as RefusedError;
      }
    })();
    expect(err?.hint).toMatch(/docker context ls/);
  });
});

describe("TLS", () => {
  it("is off for tcp:// without DOCKER_TLS_VERIFY, and port 2375 by default", () => {
    expect(resolveHost({}, env({ DOCKER_HOST: "tcp://h" })).endpoint).toEqual({
      kind: "tcp",
      host: "h",
      port: 2375,
    });
  });

  it("verifies with DOCKER_TLS_VERIFY, files from DOCKER_CERT_PATH, port 2376 by default", () => {
    for (const f of ["ca", "cert", "key"]) writeFileSync(join(dir, `${f}.pem`), "x");
    const r = resolveHost({}, env({ DOCKER_HOST: "tcp://h", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir }));
    expect(r.endpoint).toEqual({
      kind: "tcp",
      host: "h",
      port: 2376,
      tls: { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), verify: true },
    });
    expect(show(r.endpoint)).toBe("tcp://h:2376 (TLS)");
  });

  it("still verifies with DOCKER_TLS alone (the CLI would not)", () => {
    const r = resolveHost({}, env({ DOCKER_HOST: "tcp://h:1234", DOCKER_TLS: "1" }));
    expect(r.endpoint).toMatchObject({ port: 1234, tls: { verify: true } });
  });

  it("refuses a DOCKER_CERT_PATH without ca.pem, and half a client certificate", () => {
    expect(() =>
      resolveHost({}, env({ DOCKER_HOST: "tcp://h", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir })),
    ).toThrow(/no ca.pem/);
    writeFileSync(join(dir, "ca.pem"), "x");
    writeFileSync(join(dir, "cert.pem"), "x");
    expect(() =>
      resolveHost({}, env({ DOCKER_HOST: "tcp://h", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir })),
    ).toThrow(/no key.pem/);
  });

  it("takes a context's TLS files from the store, and its skip-tls-verify", () => {
    makeContext("tls", "tcp://docker.example.com:2376", ["ca", "cert", "key"]);
    makeContext("skip", "tcp://docker.example.com:2376", ["ca"], true);
    const r = resolveHost({ context: "tls" }, env());
    const tlsDir = join(dir, "contexts", "tls", contextId("tls"), "docker");
    expect(r.endpoint).toMatchObject({
      tls: { ca: join(tlsDir, "ca.pem"), key: join(tlsDir, "key.pem"), verify: true },
    });
    expect(resolveHost({ context: "skip" }, env()).endpoint).toMatchObject({ tls: { verify: false } });
  });
});

describe("parseHost", () => {
  it("reads ssh:// with and without user and port", () => {
    expect(parseHost("ssh://root@127.0.0.1:2222", undefined, "-H")).toEqual({
      kind: "ssh",
      user: "root",
      host: "127.0.0.1",
      port: 2222,
    });
    expect(parseHost("ssh://prod", undefined, "-H")).toEqual({
      kind: "ssh",
      host: "prod",
      port: 22,
      defaultPort: true,
    });
  });

  it("takes host:port as tcp, and refuses what it cannot speak", () => {
    expect(parseHost("10.0.0.1:2375", undefined, "-H")).toEqual({
      kind: "tcp",
      host: "10.0.0.1",
      port: 2375,
    });
    expect(() => parseHost("npipe:////./pipe/docker_engine", undefined, "-H")).toThrow(/does not speak/);
    expect(() => parseHost("ssh://h/path", undefined, "-H")).toThrow(/has a path/);
  });
});

describe("the context store", () => {
  it("names a context's directory by the sha256 of its name, as the CLI does", () => {
    // sha256("default"), checked with: printf default | sha256sum
    expect(contextId("default")).toBe("37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f");
  });

  it("reads currentContext; a missing config.json means none, a broken one is refused", () => {
    expect(currentContext(dir)).toBeUndefined();
    writeFileSync(join(dir, "config.json"), "{");
    expect(() => currentContext(dir)).toThrow(/cannot read the Docker CLI config/);
  });

  it("refuses a context without a docker endpoint", () => {
    const meta = join(dir, "contexts", "meta", contextId("k8s"));
    mkdirSync(meta, { recursive: true });
    writeFileSync(join(meta, "meta.json"), JSON.stringify({ Name: "k8s", Endpoints: {} }));
    expect(() => readContext(dir, "k8s")).toThrow(/has no docker endpoint/);
  });

  it("finds the config directory as the CLI does", () => {
    expect(configDir({ DOCKER_CONFIG: "/x" })).toBe("/x");
    expect(configDir({ HOME: "/home/u" })).toBe("/home/u/.docker");
  });
});

describe("insecureWarning", () => {
  it("warns in one line about a plain tcp:// engine off this machine, and about nothing else", () => {
    const line = insecureWarning(parseHost("tcp://docker.example:2375", undefined, "-H"));
    expect(line).toMatch(
      /tcp:\/\/docker\.example:2375 has no TLS: .*registry credentials.*DOCKER_TLS_VERIFY=1/,
    );
    expect(line).not.toContain("\n");
    expect(insecureWarning(parseHost("tcp://docker.example:2376", { verify: true }, "-H"))).toBeUndefined();
    expect(insecureWarning(parseHost("tcp://127.0.0.1:2375", undefined, "-H"))).toBeUndefined();
    expect(insecureWarning(parseHost("tcp://localhost:2375", undefined, "-H"))).toBeUndefined();
    expect(insecureWarning(parseHost("ssh://deploy@docker.example", undefined, "-H"))).toBeUndefined();
    expect(insecureWarning(parseHost("unix:///var/run/docker.sock", undefined, "-H"))).toBeUndefined();
  });
});
