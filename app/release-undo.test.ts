// `undo` of a whole release on fakes: web on the controller's world, workers in FakeWorkers.
import { describe, expect, it } from "vitest";
import { RefusedError, RolledBackError } from "../controller/errors.js";
import { FakeWorld } from "../controller/fakes.test-support.js";
import type { ImageInfo } from "../controller/model.js";
import type { ComposeProject, Revision } from "../controller/ports.js";
import { planRelease } from "../controller/release.js";
import { fact } from "../controller/release.test-support.js";
import { MemoryState, testContext } from "./fakes.test-support.js";
import { release } from "./release.js";
import { FakeWorkers } from "./release.test-support.js";
import { newestRelease, undoRelease } from "./release-undo.js";

const img = (tag: string): ImageInfo => ({ ref: `app:${tag}`, id: `sha256:${tag}`, exposedPorts: [8000] });
const [v1, v2] = [img("v1"), img("v2")];
const FACTS = [
  fact("web", { routed: true, healthcheck: true, replicas: 2 }),
  // Rolled forward one at a time, start-first; put back all at once, stop-first, 3 s apart.
  fact("worker", {
    replicas: 2,
    update: { parallelism: 1 },
    rollback: { parallelism: 2, order: "stop-first", delay: "3s" },
  }),
];
const first = (service: string, image: ImageInfo): Revision => ({
  number: 1,
  image: { ref: image.ref, id: image.id },
  by: { user: "me", host: "h", pid: 1 },
  at: new Date(-60_000).toISOString(),
  result: "complete",
  settings: { release: "before" },
});

async function released(crashing: string[] = []) {
  const world = new FakeWorld([v1, v2]).seed(2, v1, "h1");
  const workers = new FakeWorkers(() => world.now(), { worker: "app:v2" }, crashing).seed(
    "worker",
    2,
    "app:v1",
  );
  const compose: ComposeProject = {
    files: ["compose.yaml"],
    image: (s) => (s === "web" ? "app:v2" : "app:v2"),
    hash: async () => "h1",
    planWriteBack: () => ({ writes: [], summary: "", warnings: [] }),
    rewrite: async (service, ref) => {
      written.push(`${service}=${ref}`);
      return { writes: [], summary: "", warnings: [] };
    },
    create: async () => [],
    labels: () => ({}),
    replicas: () => undefined,
  };
  const written: string[] = [];
  const [webState, workerState] = [new MemoryState(), new MemoryState()];
  webState.revisions.push(first("web", v1));
  workerState.revisions.push(first("worker", v1));
  const base = testContext(world, workerState, {
    compose,
    svc: { project: "demo", service: "worker" },
    opts: { write: true },
  });
  const web = testContext(world, webState, { compose });
  const deps = { base, routed: async () => web, workers };
  const plan = planRelease({
    file: "compose.yaml",
    facts: FACTS,
    changes: [
      { service: "web", action: "recreate", what: ["image app:v1 → app:v2"] },
      { service: "worker", action: "recreate", what: ["image app:v1 → app:v2"] },
    ],
    named: [],
    skip: [],
    force: false,
    settleMs: 1_000,
  });
  const forward = await release(deps, plan);
  const records = () => [
    ...webState.revisions.map((revision) => ({ service: "web", revision })),
    ...workerState.revisions.map((revision) => ({ service: "worker", revision })),
  ];
  const undoDeps = () => ({
    ...deps,
    records: records(),
    facts: FACTS,
    file: "compose.yaml",
    settleMs: 1_000,
  });
  return { world, workers, web, webState, workerState, forward, undoDeps, written };
}

const webImages = (w: FakeWorld) => [...w.replicasById.values()].map((r) => r.imageRef);

describe("undo of a release", () => {
  it("puts web and the workers back together, as one new release; workers by rollback_config", async () => {
    const s = await released();
    expect(newestRelease(s.undoDeps().records)?.id).toBe(s.forward.id);
    s.workers.log = [];
    const t0 = s.world.now();
    const out = await undoRelease(s.undoDeps());
    expect(out.undone).toBe(s.forward.id);
    expect(out.rolled).toEqual(["web", "worker"]);
    expect(webImages(s.world)).toEqual(["app:v1", "app:v1"]);
    expect(s.world.minServing).toBeGreaterThanOrEqual(2);
    expect(s.workers.running("worker")).toEqual(["app:v1", "app:v1"]);
    // rollback_config: both stopped at once (parallelism 2, stop-first), then both created.
    expect(s.workers.log.slice(0, 4)).toEqual([
      "stop worker-3",
      "stop worker-4",
      "create worker-5,worker-6",
      "start worker-5",
    ]);
    expect(s.world.now() - t0).toBeGreaterThanOrEqual(1_000);
    // One new release: both services' new revisions carry its id and the old image.
    const [w, k] = [s.webState.revisions.at(-1), s.workerState.revisions.at(-1)];
    expect([w?.number, w?.image.ref, k?.number, k?.image.ref]).toEqual([3, "app:v1", 3, "app:v1"]);
    expect(w?.settings?.release).toBe(out.id);
    expect(k?.settings?.release).toBe(out.id);
    expect(out.id).not.toBe(s.forward.id);
    // Workers' image written back (a routed service writes its own back); the lock is free.
    expect(s.written).toEqual(["worker=app:v1"]);
    expect(s.workerState.held).toBeUndefined();
    expect(s.web.said).toContain("undo: rolling back to app:v1 (revision 1)");
    expect(s.undoDeps().base.said).toContain(
      "undo: worker back to app:v1 (revision 1), with the configuration (environment, command) the compose files give now",
    );
  });

  it("a worker that no longer boots on the old image: everything this undo changed goes back, exit 5", async () => {
    const s = await released();
    s.workers.crashing.push("app:v1");
    const err = await undoRelease(s.undoDeps()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect((err as Error).message).toMatch(
      /^release rolled back: worker failed: .*exited with code 3; worker, web restored$/,
    );
    expect(webImages(s.world)).toEqual(["app:v2", "app:v2"]);
    expect(s.world.minServing).toBeGreaterThanOrEqual(2);
    expect(s.workers.running("worker")).toEqual(["app:v2", "app:v2"]);
    expect(s.workerState.held).toBeUndefined();
  });

  it("refuses, changing nothing, when a service's earlier image is unknown or no release spans several services", async () => {
    const s = await released();
    // The worker's revision 1 is gone, and revision 2 does not say what it replaced.
    s.workerState.revisions.splice(0, 1);
    delete s.workerState.revisions[0]?.previousImage;
    const noPrev = s.undoDeps();
    const err = await undoRelease(noPrev).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/no earlier image of worker is recorded to undo to$/);
    expect(webImages(s.world)).toEqual(["app:v2", "app:v2"]);
    const single = { ...noPrev, records: noPrev.records.filter((r) => r.service === "web") };
    expect(newestRelease(single.records)).toBeUndefined();
    await expect(undoRelease(single)).rejects.toThrow(/name the service|no release of several services/);
  });
});
