import { describe, expect, it } from "vitest";
import { RefusedError } from "./errors.js";
import { planRelease, type ReleaseInput, rollbackOrder } from "./release.js";
import { fact } from "./release.test-support.js";
import { policyOf, type ServiceFacts } from "./release-policy.js";

// The seeds' app: web behind Traefik, a Celery worker and beat, Redis and Postgres.
const django = [
  fact("worker", { dependsOn: ["redis", "db"], stopGraceMs: 60_000 }),
  fact("beat", { dependsOn: ["redis"], update: { order: "stop-first" } }),
  fact("web", { routed: true, healthcheck: true, replicas: 3, dependsOn: ["db"] }),
  fact("redis", { dataVolume: "redisdata:/data" }),
  fact("db", { dataVolume: "dbdata:/var/lib/postgresql/data" }),
  fact("traefik", { exclusive: "fixed host port 80:80" }),
];

const input = (more: Partial<ReleaseInput> = {}): ReleaseInput => ({
  file: "compose.yaml",
  facts: django,
  changes: [
    { service: "worker", action: "recreate", what: ["environment"] },
    { service: "beat", action: "recreate", what: ["image app:v1 → app:v2"] },
    { service: "web", action: "recreate", what: ["image app:v1 → app:v2"] },
    { service: "redis", action: "unchanged", what: [] },
    { service: "db", action: "recreate", what: ["image postgres:15 → postgres:16"] },
    { service: "traefik", action: "unchanged", what: [] },
  ],
  named: [],
  skip: [],
  force: false,
  settleMs: 5_000,
  ...more,
});

describe("policyOf", () => {
  it("reads the compose spec first, x-compose-roll where it has no field", () => {
    const got = Object.fromEntries(django.map((f) => [f.service, policyOf(f).policy]));
    expect(got).toEqual({
      worker: "unrouted",
      beat: "singleton",
      web: "routed",
      redis: "stateful",
      db: "stateful",
      traefik: "singleton",
    });
    expect(policyOf(fact("x", { declared: "singleton" })).why).toBe("x-compose-roll policy");
    expect(policyOf(fact("worker"), ["worker"])).toEqual({ policy: "stateful", why: "--skip" });
  });
});

describe("planRelease", () => {
  it("rolls web first, then the workers (Kamal's barrier); holds the changed database with what to do", () => {
    const plan = planRelease(input());
    expect(plan.services.map((p) => [p.service, p.policy])).toEqual([
      ["web", "routed"],
      ["worker", "unrouted"],
      ["beat", "singleton"],
    ]);
    expect(plan.unchanged).toEqual(["redis", "traefik"]);
    expect(plan.held).toHaveLength(1);
    expect(plan.held[0]?.line).toMatch(/^db changed \(image postgres:15 → postgres:16\) but is stateful/);
    expect(plan.held[0]?.line).toContain("compose-roll up db --force");
  });

  it("start-first for a worker: the old one is stopped with its own grace only after the new one is ready", () => {
    const worker = planRelease(input()).services[1];
    expect(worker?.readyBy).toEqual({ runningMs: 5_000 });
    expect(worker?.steps).toEqual([
      "compose creates 1 new beside the old",
      "wait until running for 5s",
      "stop the old one with SIGTERM, up to 60s (stop_grace_period); keep it until the release is done",
    ]);
  });

  it("stop-first for a singleton: never two at once", () => {
    const beat = planRelease(input()).services[2];
    expect(beat?.update.order).toBe("stop-first");
    expect(beat?.steps[0]).toMatch(/^stop the old one/);
  });

  it("a start_period longer than --settle wins; a healthcheck replaces both", () => {
    const facts = [fact("w", { startPeriodMs: 20_000 }), fact("h", { healthcheck: true })];
    const plan = planRelease({
      ...input(),
      facts,
      changes: [
        { service: "w", action: "recreate", what: ["configuration"] },
        { service: "h", action: "recreate", what: ["configuration"] },
      ],
    });
    expect(plan.services.map((p) => p.readyBy)).toEqual([{ runningMs: 20_000 }, { health: true }]);
  });

  it("update_config's parallelism batches the replicas, with its delay and monitor between", () => {
    const facts = [fact("w", { replicas: 4, update: { parallelism: 2, delayMs: 3_000, monitorMs: 1_000 } })];
    const [w] = planRelease({
      ...input(),
      facts,
      changes: [{ service: "w", action: "recreate", what: ["configuration"] }],
    }).services;
    expect(w?.steps[0]).toBe("2 batches of 2:");
    expect(w?.steps).toContain("watch for 1s (update_config.monitor)");
    expect(w?.steps.at(-1)).toBe("wait 3s (update_config.delay)");
    expect(w?.rollback.parallelism).toBe(2); // rollback_config falls back to update_config
  });

  it("depends_on orders services within a tier", () => {
    const facts = [fact("a", { dependsOn: ["b"] }), fact("b")];
    const plan = planRelease({
      ...input(),
      facts,
      changes: [
        { service: "a", action: "recreate", what: [] },
        { service: "b", action: "create", what: [] },
      ],
    });
    expect(plan.services.map((p) => p.service)).toEqual(["b", "a"]);
    expect(plan.services[0]?.steps[0]).toBe("compose creates 1 container(s)");
  });

  it("only the named services; a stateful one named with --force is rolled stop-first", () => {
    const plan = planRelease(input({ named: ["db"], force: true }));
    expect(plan.services.map((p) => [p.service, p.policy])).toEqual([["db", "singleton"]]);
  });

  it("warns when the grace is shorter than what the worker says it needs", () => {
    const facts = [fact("w", { stopGraceMs: 10_000, graceNeededMs: 30_000 })];
    const [w] = planRelease({
      ...input(),
      facts,
      changes: [{ service: "w", action: "recreate", what: [] }],
    }).services;
    expect(w?.warnings[0]).toMatch(/stop_grace_period 10s is shorter than the 30s/);
  });
});

describe("bad input (exit 2, nothing changed)", () => {
  const refused = (i: Partial<ReleaseInput>, msg: RegExp) =>
    expect(() => planRelease(input(i))).toThrow(
      expect.objectContaining({ message: expect.stringMatching(msg) }),
    );

  it("a service not in the project", () =>
    refused({ named: ["wrker"] }, /no service "wrker" in compose.yaml/));
  it("--skip of a service not in the project", () => refused({ skip: ["nope"] }, /no service "nope"/));
  it("--image with several services", () =>
    refused({ named: ["web", "worker"], image: "app:v3" }, /--image app:v3 names one image, but 2 services/));
  it("a stateful service named without --force", () => refused({ named: ["db"] }, /db is stateful/));
  it("order: stop-first on a routed service", () => {
    const facts = [fact("web", { routed: true, update: { order: "stop-first" } })];
    refused({ facts }, /routed by Traefik but sets deploy.update_config.order: stop-first/);
  });
  it("policy unrouted with order stop-first", () => {
    const facts = [fact("w", { declared: "unrouted", update: { order: "stop-first" } })];
    refused({ facts }, /policy: unrouted \(start-first\) and deploy.update_config.order: stop-first/);
  });
  it("throws RefusedError", () => {
    expect(() => planRelease(input({ named: ["x"] }))).toThrow(RefusedError);
  });
});

describe("rollbackOrder", () => {
  it("puts back the last changed first", () => {
    expect(rollbackOrder(["web", "worker", "beat"])).toEqual(["beat", "worker", "web"]);
  });
});
