// Traefik's view of a Swarm: an API that does not answer is unknown, never "no servers".
import { describe, expect, it } from "vitest";
import { type HostHttp, HttpFailure } from "../host/hostio.js";
import { TraefikApi } from "./api.js";
import { SwarmTraefik } from "./swarm.js";

const traefik = (answer: HostHttp["request"]) => {
  const http: HostHttp = { request: answer };
  return new SwarmTraefik(
    new TraefikApi({ url: "http://traefik:8080", http }),
    { url: "http://traefik" },
    http,
  );
};
const signal = new AbortController().signal;

describe("SwarmTraefik.servers", () => {
  it("lists the balancer's servers, and undefined when Traefik answers it has none", async () => {
    const body = JSON.stringify({ loadBalancer: { servers: [{ url: "http://10.0.0.5:8000" }] } });
    expect(await traefik(async () => ({ status: 200, headers: {}, body })).servers("web", signal)).toEqual([
      "http://10.0.0.5:8000",
    ]);
    expect(await traefik(async () => ({ status: 404, headers: {}, body: "" })).servers("web", signal)).toBe(
      undefined,
    );
  });

  it("throws when the API does not answer (Traefik restarting): unknown, not none", async () => {
    const down = traefik(() => Promise.reject(new HttpFailure("error", "ECONNREFUSED", false)));
    await expect(down.servers("web", signal)).rejects.toThrow(/ECONNREFUSED/);
  });
});
