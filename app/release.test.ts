// The release on fakes: web on the controller's in-memory world, workers in FakeWorkers.
import { describe, expect, it } from "vitest";
import { exitCodeFor, PreDeployError, RollbackFailedError, RolledBackError } from "../controller/errors.js";
import { FakeWorld, type Fault } from "../controller/fakes.test-support.js";
import type { ImageInfo } from "../controller/model.js";
import type { ComposeProject, Tasks } from "../controller/ports.js";
import { planRelease, type ServiceChange } from "../controller/release.js";
import { fact } from "../controller/release.test-support.js";
import type { ServiceFacts } from "../controller/release-policy.js";
import { MemoryState, testContext } from "./fakes.test-support.js";
import { release } from "./release.js";
import { FakeWorkers } from "./release.test-support.js";

const img = (tag: string): ImageInfo => ({ ref: `app:${tag}`, id: `sha256:${tag}`, exposedPorts: [8000] });
const [v1, v2] = [img("v1"), img("v2")];

const FACTS = [
  fact("web", { routed: true, healthcheck: true, replicas: 2 }),
  fact("worker", { replicas: 2 }),
  fact("beat", { update: { order: "stop-first" } }),
  fact("db", { dataVolume: "dbdata:/var/lib/postgresql/data" }),
];
const CHANGES: ServiceChange[] = [
  { service: "web", action: "recreate", what: ["image app:v1 → app:v2"] },
  { service: "worker", action: "recreate", what: ["configuration"] },
  { service: "beat", action: "recreate", what: ["configuration"] },
  { service: "db", action: "recreate", what: ["image postgres:15 → postgres:16"] },
];
const plan = (named: string[] = []) =>
  planRelease({
    file: "compose.yaml",
    facts: FACTS,
    changes: CHANGES,
    named,
    skip: [],
    force: false,
    settleMs: 5_000,
  });

function setup(
  files: Record<string, string>,
  crashing: string[] = [],
  webOver: Omit<Parameters<typeof testContext>[2], "compose"> = {},
  faults: Partial<Record<Fault, string>> = {},
) {
  const world = new FakeWorld([v1, v2], faults).seed(2, v1, "h1");
  const workers = new FakeWorkers(() => world.now(), files, crashing)
    .seed("worker", 2, "app:v1")
    .seed("beat", 1, "app:v1");
  const compose: ComposeProject = {
    files: ["compose.yaml"],
    image: (s) => (s === "web" ? "app:v2" : files[s]),
    // Only web's image changes: the files hash as the running containers do (compose-roll clones).
    hash: async () => "h1",
    planWriteBack: () => ({ writes: [], summary: "", warnings: [] }),
    rewrite: async () => ({ writes: [], summary: "", warnings: [] }),
    create: async () => [],
    labels: () => ({}),
    replicas: () => undefined,
  };
  const projectState = new MemoryState();
  const webState = new MemoryState();
  const base = testContext(world, projectState, { compose, svc: { project: "demo", service: "worker" } });
  const web = testContext(world, webState, { ...webOver, compose });
  const deps = { base, routed: async () => web, workers };
  return { world, workers, base, web, webState, projectState, deps };
}

describe("release", () => {
  it("web first, then workers start-first (old stopped only once the new one ran 5 s), beat stop-first; old ones removed at the end", async () => {
    const s = setup({ worker: "app:v2", beat: "app:v2" });
    const t0 = s.world.now();
    const out = await release(s.deps, plan());
    expect(out.rolled).toEqual(["web", "worker", "beat"]);
    expect([...s.world.replicasById.values()].map((r) => r.imageRef)).toEqual(["app:v2", "app:v2"]);
    expect(s.workers.running("worker")).toEqual(["app:v2", "app:v2"]);
    expect(s.workers.log).toEqual([
      "create worker-4",
      "start worker-4",
      "stop worker-1",
      "create worker-5",
      "start worker-5",
      "stop worker-2",
      "stop beat-3",
      "create beat-6",
      "start beat-6",
      "remove worker-1",
      "remove worker-2",
      "remove beat-3",
    ]);
    expect(s.world.now() - t0).toBeGreaterThanOrEqual(3 * 5_000);
    // db is stateful: not touched, said in one line with what to do.
    expect(s.base.said.find((l) => l.startsWith("db changed"))).toMatch(/compose-roll up db --force/);
    // One release: web's revision and the workers' carry the same id; the lock is free again.
    expect(s.webState.revisions.at(-1)?.settings?.release).toBe(out.id);
    expect(s.projectState.revisions.map((r) => r.settings?.release)).toEqual([out.id, out.id]);
    // A worker's first record names what its old containers ran: undoing the release goes there.
    expect(s.projectState.revisions[0]?.previousImage).toEqual({ ref: "app:v1", id: "sha256:v1" });
    expect(s.projectState.held).toBeUndefined();
    // Recorded at the release's start: `undo` without a service still takes web's record.
    expect(s.projectState.revisions[0]?.at <= (s.webState.revisions.at(-1)?.at ?? "")).toBe(true);
  });

  it("a worker that crashes at boot puts everything back, last changed first, web at full capacity: exit 5", async () => {
    const s = setup({ worker: "app:crash", beat: "app:v2" }, ["app:crash"]);
    const err = await release(s.deps, plan()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect((err as Error).message).toMatch(
      /^release rolled back: worker failed: .*exited with code 3; worker, web restored/,
    );
    expect([...s.world.replicasById.values()].map((r) => r.imageRef)).toEqual(["app:v1", "app:v1"]);
    expect(s.world.minServing).toBeGreaterThanOrEqual(2);
    expect(s.workers.running("worker")).toEqual(["app:v1", "app:v1"]);
    expect(s.workers.running("beat")).toEqual(["app:v1"]); // never reached
    // The old workers were never stopped: the new one had to run first.
    expect(s.workers.log).toEqual(["create worker-4", "start worker-4", "stop worker-4", "remove worker-4"]);
    expect(s.projectState.held).toBeUndefined();
  });

  it("web failing and its own restore failing too ends as a failed rollback (exit 7, repair converges), not a clean one", async () => {
    const s = setup({ worker: "app:v2", beat: "app:v2" }, [], {}, { verify: v2.id, stop: "*" });
    const err = await release(s.deps, plan()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RollbackFailedError);
    expect(exitCodeFor(err)).toBe(7);
    expect((err as Error).message).toMatch(
      /^release: web failed and could not be put back: .*nothing else had changed/,
    );
    expect(s.workers.log).toEqual([]); // the workers wait for the web tier: never touched
  });

  it("web's pre-deploy step failing (a migration, the gate's refusal) changed nothing: nothing is put back, exit 6 as `compose-roll web` says it", async () => {
    const s = setup({ worker: "app:v2", beat: "app:v2" }, [], {
      opts: { preDeploy: ["python3", "manage.py", "migrate"] },
      tasks: { run: async () => ({ exitCode: 1, stdout: "", lastError: "", seconds: 0 }) } as Tasks,
    });
    const err = await release(s.deps, plan()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(PreDeployError);
    expect(exitCodeFor(err)).toBe(6);
    expect(s.workers.log).toEqual([]);
    expect([...s.world.replicasById.values()].map((r) => r.imageRef)).toEqual(["app:v1", "app:v1"]);
    expect(s.projectState.held).toBeUndefined();
  });

  it("a singleton failing after the workers rolled: the old workers (kept stopped) start again, exactly as they were", async () => {
    const s = setup({ worker: "app:v2", beat: "app:crash" }, ["app:crash"]);
    const err = await release(s.deps, plan()).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/beat failed: .*; beat, worker, web restored$/);
    expect(s.workers.running("worker")).toEqual(["app:v1", "app:v1"]);
    expect(s.workers.running("beat")).toEqual(["app:v1"]);
    expect(s.workers.boxes.map((b) => b.id)).toEqual(["worker-1", "worker-2", "beat-3"]);
    expect(s.workers.log.slice(-9)).toEqual([
      "stop beat-6",
      "remove beat-6",
      "start beat-3",
      "stop worker-4",
      "stop worker-5",
      "remove worker-4",
      "remove worker-5",
      "start worker-1",
      "start worker-2",
    ]);
    expect([...s.world.replicasById.values()].map((r) => r.imageRef)).toEqual(["app:v1", "app:v1"]);
  });

  it("SIGINT while a worker waits to settle puts back the worker and web: exit 5", async () => {
    const s = setup({ worker: "app:v2", beat: "app:v2" });
    s.workers.onStart = (id) => {
      if (id === "worker-4") process.emit("SIGINT", "SIGINT");
    };
    const err = await release(s.deps, plan()).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /^release rolled back: worker failed: interrupted by SIGINT; worker, web restored$/,
    );
    expect(s.workers.running("worker")).toEqual(["app:v1", "app:v1"]);
    expect([...s.world.replicasById.values()].map((r) => r.imageRef)).toEqual(["app:v1", "app:v1"]);
    expect(process.listenerCount("SIGINT")).toBe(0);
  });

  it("converges a killed release: the old worker it left (compose's extra) is stopped with its grace and removed", async () => {
    const s = setup({ worker: "app:v2", beat: "app:v2" });
    const changes: ServiceChange[] = [
      { service: "worker", action: "trim", what: ["containers beyond its replicas"], extras: ["p-worker-1"] },
      { service: "web", action: "trim", what: [], extras: ["p-web-9"] },
    ];
    const trim = planRelease({
      file: "c",
      facts: FACTS,
      changes,
      named: [],
      skip: [],
      force: false,
      settleMs: 0,
    });
    expect(trim.held[0]?.line).toMatch(/^web has containers compose would remove \(p-web-9\)/);
    expect(trim.services[0]?.steps).toEqual([
      "stop (with SIGTERM, up to 10s) and remove p-worker-1: beyond its replicas",
    ]);
    await release(s.deps, trim);
    expect(s.workers.log).toEqual(["stop worker-1", "remove worker-1"]);
    expect(s.workers.running("worker")).toEqual(["app:v1"]);
  });

  it("only the services named; nothing to do says so", async () => {
    const s = setup({ worker: "app:v2", beat: "app:v2" });
    expect((await release(s.deps, plan(["beat"]))).rolled).toEqual(["beat"]);
    expect(s.workers.running("worker")).toEqual(["app:v1", "app:v1"]);
    const none = planRelease({
      file: "c",
      facts: FACTS,
      changes: [],
      named: [],
      skip: [],
      force: false,
      settleMs: 0,
    });
    expect((await release(s.deps, none)).rolled).toEqual([]);
    expect(s.base.said).toContain("nothing to roll: `docker compose up -d` would change no service");
  });
});
