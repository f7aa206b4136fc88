// node:https and node:tls (+4.5 MB RSS, issue 12) load only when something speaks TLS:
// host/hostio.ts, host/dial.ts and dockerode (engine/dockerode.ts) defer them. The tests
// run in order in this file's own process: the first one sees what the local path loads, the
// later ones that https:// still works once asked for (and so loads them).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const TLS_MODULES = /^NativeModule (https|tls|_tls_wrap|internal\/tls\/wrap)$/;
const tlsLoaded = () => process.moduleLoadList.filter((m) => TLS_MODULES.test(m));

/** A self-signed certificate for 127.0.0.1 (openssl), or undefined without openssl. */
function selfSigned(): { key: Buffer; cert: Buffer } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "cr-tls-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ]),
      { stdio: "ignore" },
    );
  } catch {
    return undefined;
  }
  return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
}

const stops: (() => void)[] = [];
afterAll(() => {
  for (const stop of stops) stop();
});

describe("TLS modules load only for TLS", () => {
  it("a unix:// engine, dockerode and an http:// request load neither https nor tls", async () => {
    expect(tlsLoaded()).toEqual([]); // this file's process starts without them
    const { default: Docker } = await import("../engine/dockerode.js");
    const { dial } = await import("./dial.js");
    const { localHttp } = await import("./hostio.js");
    const http = process.getBuiltinModule("node:http");
    const server = http.createServer((_req, res) => res.end("plain"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    stops.push(() => server.close());
    const port = (server.address() as AddressInfo).port;

    new Docker(dial({ kind: "unix", socketPath: "/var/run/docker.sock" }, {}).options);
    const res = await localHttp.request({ url: `http://127.0.0.1:${port}/`, timeoutMs: 5000 });
    expect(res.body).toBe("plain");
    expect(tlsLoaded()).toEqual([]);
    // dockerode's load-time stand-ins are gone: anyone else's require("https") is the real one.
    expect(createRequire(import.meta.url)("https")).toBe(process.getBuiltinModule("node:https"));
  });

  const pem = selfSigned();
  it.skipIf(!pem)("an https:// request and a TLS tcp:// engine still work, loading them then", async () => {
    const https = process.getBuiltinModule("node:https");
    const server = https.createServer({ ...pem }, (req, res) =>
      res.end(req.url === "/_ping" ? "OK" : "secure"),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    stops.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const { localHttp } = await import("./hostio.js");
    const { dial } = await import("./dial.js");
    const { default: Docker } = await import("../engine/dockerode.js");

    const res = await localHttp.request({
      url: `https://127.0.0.1:${port}/`,
      timeoutMs: 5000,
      insecure: true,
    });
    expect(res).toMatchObject({ status: 200, body: "secure" });
    // Verified by default: the self-signed certificate is refused.
    await expect(localHttp.request({ url: `https://127.0.0.1:${port}/`, timeoutMs: 5000 })).rejects.toThrow();
    // docker-modem's https, deferred while dockerode loaded, over dial()'s insecure agent.
    const tls = { verify: false } as const;
    const docker = new Docker(dial({ kind: "tcp", host: "127.0.0.1", port, tls }, {}).options);
    expect(String(await docker.ping())).toBe("OK");
  });
});
