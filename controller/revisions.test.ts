// Worked examples of the revision rules, in the spirit of Kubernetes' rollback tests: a
// history (newest first, as History.list returns it) and what each rule makes of it.
import { describe, expect, it } from "vitest";
import { aReplica as replica } from "./fakes.test-support.js";
import type { Observation } from "./model.js";
import type { Revision } from "./ports.js";
import {
  current,
  historyLost,
  nextRevision,
  releasesOf,
  releaseUndoTargets,
  repairTarget,
  undoTarget,
} from "./revisions.js";

const svc = { project: "demo", service: "web" };
const by = { user: "ci", host: "runner", pid: 1 };
const rev = (number: number, tag: string, result: Revision["result"] = "complete"): Revision => ({
  number,
  image: { ref: `app:${tag}`, id: `sha256:${tag}` },
  by,
  at: `2026-11-0${number}T00:00:00Z`,
  result,
});
const running = (...tags: string[]): Observation => ({
  replicas: tags.map((t, i) =>
    replica({ id: `c${i}`, name: `demo-web-${i}`, imageId: `sha256:${t}`, imageRef: `app:${t}` }),
  ),
  routed: [],
});

describe("undoTarget", () => {
  // Newest first, as History.list returns them.
  const history = [rev(4, "v3"), rev(3, "v4", "rolled-back"), rev(2, "v2"), rev(1, "v1")];

  it("goes to the newest complete revision before the current one, skipping failed ones", () => {
    expect(undoTarget(history, "sha256:v3", [])).toMatchObject({ ref: "app:v2", why: "revision 2" });
  });

  it("skips older revisions of the image already running (undo after undo alternates)", () => {
    const h = [rev(3, "v2"), rev(2, "v3"), rev(1, "v2")];
    expect(undoTarget(h, "sha256:v2", [])).toMatchObject({ ref: "app:v3" });
  });

  it("takes --to-revision, refusing one that does not exist", () => {
    expect(undoTarget(history, "sha256:v3", [], 1)).toMatchObject({ ref: "app:v1" });
    expect(() => undoTarget(history, "sha256:v3", [], 9)).toThrow(/no revision 9/);
  });

  it("falls back on the running containers' labels when the history is empty", () => {
    const labelled = [replica({ previousImage: { ref: "app:v2", id: "sha256:v2" } })];
    expect(undoTarget([], "sha256:v3", labelled)).toMatchObject({
      ref: "app:v2",
      why: "the running containers' labels",
    });
    expect(undoTarget([], "sha256:v3", [replica()])).toBeUndefined();
  });

  it("has nothing to go back to when only the running image was ever complete", () => {
    expect(undoTarget([rev(1, "v3")], "sha256:v3", [replica()])).toBeUndefined();
  });
});

describe("historyLost", () => {
  const obs = (revision?: number) =>
    ({
      replicas: [{ running: true, ...(revision ? { revision } : {}) }],
      routed: [],
    }) as unknown as Parameters<typeof historyLost>[1];
  it("speaks only when records are gone although compose-roll rolled the running containers", () => {
    expect(historyLost(svc, obs(7), [])).toMatch(
      /no revision records of demo\/web .* rolled out as revision 7/,
    );
    expect(historyLost(svc, obs(), [])).toBeUndefined(); // never rolled: nothing was lost
    const rev = { number: 1 } as Revision;
    expect(historyLost(svc, obs(7), [rev])).toBeUndefined();
  });
});

describe("nextRevision", () => {
  it("is one past the newest kept record, whatever its result, and 1 for a new service", () => {
    expect(nextRevision([])).toBe(1);
    expect(nextRevision([rev(4, "v3", "rolled-back"), rev(3, "v2")])).toBe(5);
    // Pruned records leave gaps below; numbering never reuses one.
    expect(nextRevision([rev(9, "v3"), rev(2, "v1")])).toBe(10);
  });
});

describe("current", () => {
  it("is the image most running replicas have; exited ones count for nothing", () => {
    const obs = running("v1", "v2", "v2");
    obs.replicas.push(replica({ id: "x", imageId: "sha256:v9", imageRef: "app:v9", running: false }));
    expect(current(obs)).toEqual({ image: { ref: "app:v2", id: "sha256:v2" }, replicas: 3 });
    expect(current({ replicas: [], routed: [] })).toEqual({ replicas: 0 });
  });
});

describe("repairTarget", () => {
  it("is the newest complete revision, not a newer failed one", () => {
    const h = [rev(3, "v4", "failed"), rev(2, "v3", "rolled-back"), rev(1, "v2")];
    expect(repairTarget(h, running("v4", "v2"))).toEqual({ ref: "app:v2", id: "sha256:v2" });
  });

  it("without a complete record, the image most replicas run; nothing when nothing runs", () => {
    expect(repairTarget([rev(1, "v4", "failed")], running("v4", "v5", "v5"))).toEqual({
      ref: "app:v5",
      id: "sha256:v5",
    });
    expect(repairTarget([], { replicas: [], routed: [] })).toBeUndefined();
  });
});

describe("releasesOf and releaseUndoTargets", () => {
  const inRelease = (r: Revision, release: string, at = r.at): Revision => ({
    ...r,
    at,
    settings: { release },
  });
  const web = [inRelease(rev(2, "v2"), "rB"), inRelease(rev(1, "v1"), "rA")];
  // The worker's record of release B was written at the release's start, before web's.
  const worker = [
    inRelease(rev(3, "w2"), "rB", "2026-11-01T12:00:00Z"),
    { ...rev(2, "w1"), at: "2026-10-31T00:00:00Z" },
  ];
  const records = [
    ...web.map((revision) => ({ service: "web", revision })),
    ...worker.map((revision) => ({ service: "worker", revision })),
  ];

  it("one entry per release, newest first, at its earliest record; a record without a release is its own", () => {
    const got = releasesOf(records);
    expect(got.map((r) => [r.id, r.at, r.services.map((s) => s.service)])).toEqual([
      ["rB", "2026-11-01T12:00:00Z", ["web", "worker"]],
      ["rA", "2026-11-01T00:00:00Z", ["web"]],
      ["worker#2", "2026-10-31T00:00:00Z", ["worker"]],
    ]);
  });

  it("each service of the release goes to its newest complete earlier image", () => {
    const [b] = releasesOf(records);
    const targets = releaseUndoTargets(
      b as NonNullable<typeof b>,
      new Map([
        ["web", web],
        ["worker", worker],
      ]),
    );
    expect(targets).toEqual({
      targets: [
        { service: "web", ref: "app:v1", id: "sha256:v1", why: "revision 1" },
        { service: "worker", ref: "app:w1", id: "sha256:w1", why: "revision 2" },
      ],
      unchanged: [],
    });
  });

  it("a service's first rollout in a release (what it found, then what it rolled to) counts once, going back to what it found", () => {
    const first = [inRelease(rev(2, "v2"), "rF"), inRelease(rev(1, "v1"), "rF")];
    const worker = [inRelease(rev(2, "w2"), "rF"), { ...rev(1, "w1"), at: "2026-10-30T00:00:00Z" }];
    const [f] = releasesOf([
      ...first.map((revision) => ({ service: "web", revision })),
      ...worker.map((revision) => ({ service: "worker", revision })),
    ]);
    expect(f?.services.map((x) => [x.service, x.revision.number])).toEqual([
      ["web", 2],
      ["worker", 2],
    ]);
    const histories = new Map([
      ["web", first],
      ["worker", worker],
    ]);
    expect(releaseUndoTargets(f as NonNullable<typeof f>, histories).targets).toEqual([
      { service: "web", ref: "app:v1", id: "sha256:v1", why: "revision 1" },
      { service: "worker", ref: "app:w1", id: "sha256:w1", why: "revision 1" },
    ]);
  });

  it("a service the release changed only in configuration keeps its image (not an older one)", () => {
    // The worker ran w1 before release B and w1 in it; w0 is older still and must not come back.
    const configOnly = [
      inRelease(rev(4, "w1"), "rB", "2026-11-01T12:00:00Z"),
      { ...rev(3, "w1"), at: "2026-10-31T00:00:00Z" },
      { ...rev(2, "w0"), at: "2026-10-30T00:00:00Z" },
    ];
    const [b] = releasesOf([
      ...web.map((revision) => ({ service: "web", revision })),
      ...configOnly.map((revision) => ({ service: "worker", revision })),
    ]);
    const histories = new Map([
      ["web", web],
      ["worker", configOnly],
    ]);
    expect(releaseUndoTargets(b as NonNullable<typeof b>, histories)).toEqual({
      targets: [{ service: "web", ref: "app:v1", id: "sha256:v1", why: "revision 1" }],
      unchanged: ["worker"],
    });
    // A release of configuration only has nothing to undo to.
    const onlyConfig = {
      id: "rC",
      at: "x",
      services: [{ service: "worker", revision: configOnly[0] as Revision }],
    };
    expect(() => releaseUndoTargets(onlyConfig, histories)).toThrow(
      /release rC changed only the configuration of worker: there is no earlier image/,
    );
  });
});
