import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RefusedError } from "../controller/errors.js";
import type { Replica } from "../controller/model.js";
import { hasProjectContainers } from "../engine/docker.js";
import { FakeDocker } from "../state/fake-docker.test-support.js";
import { FakeSwarm, lockInfo, revision } from "../state/fake-swarm.test-support.js";
import { SwarmHistory } from "../state/swarm-history.js";
import { SwarmLock } from "../state/swarm-lock.js";
import type { Context } from "./context.js";

// statusCommand with everything openContext would connect to replaced by fakes: the
// engine's containers (a FakeDocker behind it), Traefik's file, the history and the lock.
const ctx = vi.hoisted(() => ({ current: undefined as unknown }));
vi.mock("./context.js", () => ({
  openContext: async () => ctx.current,
  // A Swarm target carries the options as openTarget resolved them: here, the flags as given.
  openTarget: async (_: unknown, raw: unknown) => {
    const got = ctx.current as { swarm?: object } | undefined;
    return got?.swarm ? { swarm: { ...got.swarm, raw, names: {} } } : got;
  },
}));
const { historyCommand, lockReleaseCommand, lockStatusCommand, statusCommand } = await import("./inspect.js");

const replica = (n: number): Replica => ({
  id: `c${n}`,
  name: `shop-web-${n}`,
  number: n,
  imageId: "sha256:v1",
  imageRef: "app:v1",
  running: true,
  health: "healthy",
  url: `http://shop-web-${n}:8000`,
});

function context(project: string, opts: { replicas?: Replica[]; latest?: string; docker?: FakeDocker }) {
  const docker = opts.docker ?? new FakeDocker();
  const svc = { project, service: "web" };
  const history = {
    latestIn: async (p: string) => (p === project ? opts.latest : undefined),
    list: async () => [],
  };
  const app = {
    svc,
    deps: {
      engine: { replicas: async () => opts.replicas ?? [] },
      router: {
        servers: async () => (opts.replicas ?? []).map((r) => r.url),
        describe: () => ({ mode: "file", summary: "file", service: "web@file" }),
      },
    },
    history,
    lock: { read: async () => undefined },
    knownProject: async (p: string) =>
      (await hasProjectContainers(docker.api, p)) || (await history.latestIn(p)) !== undefined,
  };
  ctx.current = {
    opts: { json: false },
    svc,
    app,
  } as unknown as Context;
}

let printed: string[];
beforeEach(() => {
  printed = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("statusCommand", () => {
  it("refuses a project the Docker host has never heard of, naming it and how to list projects", async () => {
    context("nosuchproject", {});
    const err = await statusCommand("web", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).message).toMatch(/nosuchproject/);
    expect((err as RefusedError).message).not.toMatch(/\n/);
    expect((err as RefusedError).hint).toMatch(/docker compose ls/);
    expect(printed.join("")).toBe("");
  });

  it("shows a project that has compose-roll history even when none of its containers is left", async () => {
    context("shop", { latest: "web" });
    await statusCommand("web", {});
    expect(printed.join("")).toMatch(/^CONTAINER/m);
  });

  it("shows a project whose other services run, though this one has no container", async () => {
    const docker = new FakeDocker();
    docker.add("shop-db-1", "sha256:pg", {
      "com.docker.compose.project": "shop",
      "com.docker.compose.service": "db",
    });
    context("shop", { docker });
    await statusCommand("web", {});
    expect(printed.join("")).toMatch(/^CONTAINER/m);
  });

  it("shows the service's containers as before", async () => {
    context("shop", { replicas: [replica(1)] });
    await statusCommand("web", {});
    expect(printed.join("")).toMatch(/shop-web-1\s+app:v1\s+running/);
  });
});

describe("historyCommand", () => {
  it("refuses a project the Docker host has never heard of instead of printing an empty history", async () => {
    context("nosuchproject", {});
    const err = await historyCommand("web", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).message).toMatch(/no compose project nosuchproject/);
    expect(printed.join("")).toBe("");
  });

  it("says a known project's service has no revisions yet", async () => {
    const docker = new FakeDocker();
    docker.add("shop-web-1", "sha256:v1", {
      "com.docker.compose.project": "shop",
      "com.docker.compose.service": "web",
    });
    context("shop", { docker, replicas: [replica(1)] });
    await historyCommand("web", {});
    expect(printed.join("")).toBe("no revisions of shop/web recorded\n");
  });
});

describe("historyCommand on a Swarm stack service", () => {
  const svc = { project: "shop", service: "web" };
  const pinned = (tag: string, c: string) => `reg/app:${tag}@sha256:${c.repeat(64)}`;
  async function swarm(records: number, cluster = new FakeSwarm()) {
    const history = new SwarmHistory({ docker: cluster.api });
    for (let n = 1; n <= records; n++) {
      const image = { ref: `reg/app:v${n + 1}`, id: pinned(`v${n + 1}`, String(n + 1)) };
      const previousImage = { ref: pinned(`v${n}`, String(n)), id: pinned(`v${n}`, String(n)) };
      await history.record(svc, { ...revision(n), image, previousImage }, 10);
    }
    const facts = { role: "manager" as const };
    ctx.current = { swarm: { docker: cluster.api, svc, facts, say: () => {}, debug: () => {} } };
  }

  it("lists the revisions kept as Swarm configs, newest first, images by digest", async () => {
    await swarm(2);
    await historyCommand("web", {});
    const lines = printed.join("").split("\n");
    expect(lines[0]).toMatch(/^REV\s+IMAGE\s+RESULT\s+WHEN\s+BY\s+REPLACED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^2\\s+${pinned("v3", "3")}\\s+complete\\s+\\S+\\s+ci@runner-1\\s+${pinned("v2", "2")}$`),
    );
    expect(lines[2]).toMatch(/^1\s+reg\/app:v2@sha256:2{64}\s+complete/);
  });

  it("--json: the same document as on one host, naming the Swarm service", async () => {
    await swarm(1);
    await historyCommand("web", { json: true });
    const doc = JSON.parse(printed.join(""));
    expect(doc).toMatchObject({
      service: svc,
      swarmService: "shop_web",
      revisions: [{ number: 1, result: "complete" }],
    });
  });

  it("says none are recorded in the Swarm", async () => {
    await swarm(0);
    await historyCommand("web", {});
    expect(printed.join("")).toBe("no revisions of shop/web recorded in the Swarm\n");
  });
});

describe("lock status and lock release on a Swarm stack service", () => {
  const svc = { project: "shop", service: "web" };
  it("read and remove the lock config in the cluster, not a container on the manager", async () => {
    const cluster = new FakeSwarm();
    expect((await new SwarmLock({ docker: cluster.api }).acquire(svc, lockInfo(42))).acquired).toBe(true);
    const said: string[] = [];
    ctx.current = {
      swarm: {
        docker: cluster.api,
        svc,
        facts: { role: "manager" },
        say: (l: string) => said.push(l),
        debug: () => {},
      },
    };
    await lockStatusCommand("web", {});
    expect(printed.join("")).toMatch(
      /^held — compose-roll web --image app:v2 by ci@runner-1 pid 42 .*lease 30s, last renewed 0s ago \(Swarm manager's clock\)/,
    );
    await lockReleaseCommand("web", {});
    expect(said[0]).toMatch(/^released the lock of compose-roll web --image app:v2 by ci@runner-1 pid 42/);
    expect(said[1]).toMatch(/run `compose-roll repair` once it ends$/);
    expect(cluster.configs.size).toBe(0);
    printed.length = 0;
    await lockStatusCommand("web", {});
    expect(printed.join("")).toBe("free: no rollout of shop/web holds it\n");
  });
});
