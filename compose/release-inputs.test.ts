import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { actionsOf, parseDryRun, serviceOfName } from "./changes.js";
import { factsOf, goDuration } from "./policies.js";

// `docker compose up -d --dry-run` (compose 2.31) after FOO changed for worker, with a new
// service `extra` and db untouched; what it printed on stderr.
const DRY = [
  " DRY-RUN MODE -  Container rel-worker-1  Recreate",
  " DRY-RUN MODE -  Container rel-db-1  Running",
  " DRY-RUN MODE -  Container rel-web-api-2  Running",
  " DRY-RUN MODE -  Container rel-worker-1  Recreated",
  " DRY-RUN MODE -  Container b58cc3a06dde_rel-worker-1  Starting",
  " DRY-RUN MODE -  Container rel-extra-1  Creating",
  " DRY-RUN MODE -  Container rel-extra-1  Created",
  "",
].join("\n");

describe("compose's own decision", () => {
  it("reads what up -d would do per service", () => {
    const services = ["worker", "db", "web", "web-api", "extra"];
    expect(actionsOf("rel", services, parseDryRun(DRY))).toEqual({
      worker: "recreate",
      db: "unchanged",
      web: "unchanged",
      "web-api": "unchanged",
      extra: "create",
    });
  });
  it("containers compose would only remove (a killed release's old ones) make a trim", () => {
    const killed = [
      " DRY-RUN MODE -  Container rel-worker-2  Running",
      " DRY-RUN MODE -  Container rel-worker-1  Stopping",
      " DRY-RUN MODE -  Container rel-worker-1  Removing",
      " DRY-RUN MODE -  Container rel-worker-1  Removed",
    ].join("\n");
    expect(actionsOf("rel", ["worker"], parseDryRun(killed))).toEqual({ worker: "trim" });
  });

  it("names a container's service by the longest that fits; compose's temporary names are none", () => {
    expect(serviceOfName("rel", ["web", "web-api"], "rel-web-api-2")).toBe("web-api");
    expect(serviceOfName("rel", ["web"], "b58cc3a06dde_rel-web-1")).toBeUndefined();
  });
});

// What `docker compose config --format yaml` printed for a worker and a database.
const MODEL = parse(`
db:
  image: compose-roll-demo/postgres:15
  labels: {a: b}
  volumes:
    - {type: volume, source: dbdata, target: /var/lib/postgresql/data, volume: {}}
worker:
  command: [sh, -c, sleep 1000]
  depends_on: {db: {condition: service_started, required: true}}
  deploy:
    update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 5s, max_failure_ratio: 0.2, order: start-first}
  healthcheck: {disable: true}
  image: compose-roll-demo/app:v1
  stop_grace_period: 1m30s
  x-compose-roll: {grace-needed: 60s, policy: unrouted}
web:
  image: app:v1
  labels: {traefik.enable: "true", traefik.http.routers.web.rule: "Host(\`x\`)"}
  ports: [{target: 80, published: "8080", protocol: tcp}]
`) as Record<string, unknown>;
const project = { files: ["compose.yaml"], services: { worker: { fixedHostPorts: [], replicas: 2 } } };

describe("factsOf", () => {
  it("reads update_config, grace, healthcheck, depends_on and x-compose-roll", () => {
    expect(factsOf("worker", MODEL.worker, project)).toEqual({
      service: "worker",
      routed: false,
      declared: "unrouted",
      update: {
        parallelism: 2,
        delayMs: 10_000,
        failureAction: "rollback",
        monitorMs: 5_000,
        maxFailureRatio: 0.2,
        order: "start-first",
      },
      rollback: {},
      healthcheck: false,
      stopGraceMs: 90_000,
      stopSignal: "SIGTERM",
      graceNeededMs: 60_000,
      dependsOn: ["db"],
      replicas: 2,
    });
  });
  it("a named volume on a data path is stateful; Traefik labels route; a fixed port is exclusive", () => {
    expect(factsOf("db", MODEL.db, project).dataVolume).toBe("dbdata:/var/lib/postgresql/data");
    const web = factsOf("web", MODEL.web, project);
    expect([web.routed, web.exclusive]).toEqual([true, "fixed host port(s) 8080:80"]);
  });
  it("refuses an unknown value, naming the field", () => {
    const bad = { deploy: { update_config: { failure_action: "retry" } } };
    expect(() => factsOf("w", bad, project)).toThrow(/service w: deploy.update_config.failure_action/);
    expect(() => factsOf("w", { "x-compose-roll": { policy: "worker" } }, project)).toThrow(
      /x-compose-roll.policy/,
    );
    expect(factsOf("w", { "x-compose-roll": { policy: "skip" } }, project).declared).toBe("stateful");
  });
  it("reads Go's durations", () => {
    expect([goDuration("1m30s"), goDuration("500ms"), goDuration("2h"), goDuration("5")]).toEqual([
      90_000, 500, 7_200_000, 5_000,
    ]);
  });
});
