import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { detectMode } from "./mode.js";
import { parseOptions, type RawOptions } from "./options.js";

// A stand-in for Traefik's API: it knows the @docker services named in `services`.
let services: Record<string, string[]> = {};
let server: Server;
let api: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/api/overview") return res.end("{}");
    const name = decodeURIComponent(req.url?.replace("/api/http/services/", "") ?? "");
    const urls = services[name];
    if (!urls) {
      res.statusCode = 404;
      return res.end('{"message":"service not found"}');
    }
    res.end(JSON.stringify({ loadBalancer: { servers: urls.map((url) => ({ url })) } }));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

function docker(labels: Record<string, string>, test?: string[]): Docker {
  return {
    listContainers: async () => [{ Id: "c1", Names: ["/shop-web-1"] }],
    getContainer: () => ({
      inspect: async () => ({
        Id: "c1",
        Config: { Labels: labels, Healthcheck: test ? { Test: test } : null },
      }),
    }),
  } as unknown as Docker;
}

const svc = { project: "shop", service: "web" };
const drainCheck = ["CMD-SHELL", "test ! -f /tmp/drain && curl -f localhost"];
const detect = (d: Docker, raw: RawOptions = {}) =>
  detectMode(d, svc, raw, parseOptions("web", { traefikApi: api, ...raw }, "/", false));

describe("detectMode", () => {
  it("is file mode without traefik labels (Traefik is not even asked)", async () => {
    expect(await detect(docker({ "com.docker.compose.service": "web" }))).toEqual({ kind: "file" });
  });

  it("is label mode when the labels route it and Traefik has the @docker service", async () => {
    services = { "web-shop@docker": ["http://10.0.0.2:8000"] };
    const mode = await detect(
      docker({ "traefik.enable": "true", "traefik.docker.network": "shop_front" }, drainCheck),
    );
    expect(mode).toEqual({
      kind: "labels",
      service: "web-shop@docker",
      network: "shop_front",
      drain: { kind: "file", path: "/tmp/drain" },
    });
  });

  it("falls back from a remembered file-mode service name to the labels' name", async () => {
    services = { "web-shop@docker": [] };
    const mode = await detect(docker({ "traefik.enable": "true" }, drainCheck), { traefikService: "web" });
    expect(mode).toMatchObject({ kind: "labels", service: "web-shop@docker" });
  });

  it("carries the unsafe-drain refusal for the rollout to throw, naming the fix", async () => {
    services = { "web-shop@docker": [] };
    const mode = await detect(docker({ "traefik.enable": "true" }, ["CMD", "true"]));
    expect(mode.kind === "labels" && mode.refusal).toBeInstanceOf(RefusedError);
    const unsafe = await detect(docker({ "traefik.enable": "true" }, ["CMD", "true"]), {
      allowUnsafeDrain: true,
    });
    expect(unsafe).toMatchObject({ kind: "labels", drain: { kind: "unsafe" } });
  });

  it("refuses labels Traefik does not know, unless the user points at a file", async () => {
    services = {};
    await expect(detect(docker({ "traefik.enable": "true" }, drainCheck))).rejects.toThrow(
      /carries traefik labels but Traefik's API .* has no service web-shop@docker/,
    );
    expect(await detect(docker({ "traefik.enable": "true" }), { traefikFile: "/x/web.yml" })).toEqual({
      kind: "file",
    });
  });
});
