import { describe, expect, it } from "vitest";
import { planRelease } from "../controller/release.js";
import { fact } from "../controller/release.test-support.js";
import { formatPlan } from "./release.js";

describe("up --dry-run's plan", () => {
  it("prints per service what changed, its policy, update_config, steps and write-back; the barrier after the web tier", () => {
    const plan = planRelease({
      file: "compose.yaml",
      facts: [
        fact("web", { routed: true, healthcheck: true }),
        fact("worker", { stopGraceMs: 20_000 }),
        fact("db", { dataVolume: "dbdata:/var/lib/postgresql/data" }),
        fact("traefik", { exclusive: "fixed host port(s) 80:80" }),
      ],
      changes: [
        { service: "web", action: "recreate", what: ["image app:v1 → app:v2"] },
        { service: "worker", action: "recreate", what: ["configuration"] },
        { service: "db", action: "recreate", what: ["configuration"] },
        { service: "traefik", action: "unchanged", what: [] },
      ],
      named: [],
      skip: [],
      force: false,
      settleMs: 10_000,
    });
    expect(formatPlan("shop", plan).split("\n")).toEqual([
      "release plan for shop (what `docker compose up -d` would change, rolled without downtime):",
      "  1. web: image app:v1 → app:v2",
      "     policy: routed (routed by Traefik)",
      "     - roll through Traefik one replica at a time: start, prove, route, drain the old (as `compose-roll <service>`)",
      "     write-back: none (the files already say it)",
      "     -- barrier: the web tier is complete before any worker changes --",
      "  2. worker: configuration",
      "     policy: unrouted (no Traefik route)",
      "     update_config: parallelism 1, delay 0s, order start-first, failure_action rollback, monitor 0s, max_failure_ratio 0",
      "     - compose creates 1 new beside the old",
      "     - wait until running for 10s",
      "     - stop the old one with SIGTERM, up to 20s (stop_grace_period); keep it until the release is done",
      "     write-back: none (the files already say it)",
      "  held: db changed (configuration) but is stateful (named volume dbdata:/var/lib/postgresql/data): not recreated; in a maintenance window run `docker compose up -d db`, or `compose-roll up db --force`",
      "  unchanged: traefik",
      "  if any service fails, every service already changed goes back, last changed first (exit 5)",
      "",
    ]);
  });
});
