import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import type { LockInfo, Revision } from "../controller/ports.js";
import {
  decodeLock,
  decodeRevision,
  encodeLock,
  encodeRevision,
  LockLabel,
  lockBelongsTo,
  lockName,
  RevisionLabel,
  revisionName,
  StateLabel,
} from "./labels.js";

const svc = { project: "shop", service: "web.api" };
const ID = (c: string) => `sha256:${c.repeat(64)}`;

const full: Revision = {
  number: 7,
  image: { ref: "registry.example/app:v2", id: ID("b") },
  by: { user: "ci", host: "runner-1", pid: 4242, ciJob: "github:acme/shop#123" },
  at: "2026-01-02T03:04:05.678Z",
  result: "rolled-back",
  previous: 6,
  previousImage: { ref: "registry.example/app:v1", id: ID("a") },
  settings: { "traefik-file": "/srv/traefik/dynamic/web.yml", port: "8000", network: "" },
};

const lock: LockInfo = {
  by: { user: "ci", host: "runner-1", pid: 4242 },
  since: "2026-01-02T03:04:05.678Z",
  target: { ref: "app:v2", id: ID("b") },
  previous: { ref: "app:v1", id: ID("a") },
  revision: 8,
  replicas: 3,
  command: "compose-roll deploy web --image app:v2",
};

describe("revision labels", () => {
  it("round-trip every field", () => {
    expect(decodeRevision(svc, encodeRevision(svc, full))).toEqual({ ok: true, value: full });
  });

  it("round-trip a minimal revision without inventing optional fields", () => {
    const { previous, previousImage, settings, ...min } = full;
    const rev: Revision = { ...min, by: { user: "u", host: "h", pid: 1 } };
    const labels = encodeRevision(svc, rev);
    expect(labels[RevisionLabel.previous]).toBeUndefined();
    expect(labels[RevisionLabel.ciJob]).toBeUndefined();
    expect(decodeRevision(svc, labels)).toEqual({ ok: true, value: rev });
  });

  it("carry the owner labels used to filter, and no compose label", () => {
    const labels = encodeRevision(svc, full);
    expect(labels[StateLabel.kind]).toBe("revision");
    expect(labels[StateLabel.project]).toBe("shop");
    expect(labels[StateLabel.service]).toBe("web.api");
    expect(labels[RevisionLabel.number]).toBe("7");
    expect(Object.keys(labels).some((k) => k.startsWith("com.docker.compose"))).toBe(false);
  });

  it.each([
    [RevisionLabel.number, "seven", /revision.number is "seven"/],
    [RevisionLabel.number, "", /revision.number is empty/],
    [RevisionLabel.pid, "-1", /revision.pid/],
    [RevisionLabel.at, "yesterday", /revision.at is "yesterday", not a time/],
    [RevisionLabel.result, "ok", /revision.result is "ok", not one of complete, rolled-back, failed/],
    [RevisionLabel.previous, "x", /revision.previous/],
    [StateLabel.service, "other", /service is "other", expected "web.api"/],
  ])("report %s=%j as damage, naming the field", (key, value, reason) => {
    const d = decodeRevision(svc, { ...encodeRevision(svc, full), [key]: value });
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(reason);
  });

  it("report a missing field and a half previous image", () => {
    const labels = encodeRevision(svc, full);
    delete labels[RevisionLabel.imageId];
    expect(decodeRevision(svc, labels)).toEqual({ ok: false, reason: "revision.image-id is missing" });
    const half = encodeRevision(svc, full);
    delete half[RevisionLabel.previousImageId];
    expect(decodeRevision(svc, half)).toMatchObject({ ok: false, reason: /must come together/ });
    expect(decodeRevision(svc, null)).toMatchObject({ ok: false });
  });

  it("refuse to encode what could not be read back", () => {
    expect(() => encodeRevision(svc, { ...full, number: 1.5 })).toThrow(RefusedError);
    expect(() => encodeRevision(svc, { ...full, by: { ...full.by, pid: Number.NaN } })).toThrow(/pid/);
    expect(() => encodeRevision(svc, { ...full, at: "soon" })).toThrow(/revision.at/);
  });
});

describe("lock labels", () => {
  it("round-trip, including an empty command", () => {
    expect(decodeLock(svc, encodeLock(svc, lock))).toEqual({ ok: true, value: lock });
    const quiet = { ...lock, command: "", by: { ...lock.by, ciJob: "https://ci/job/1" } };
    expect(decodeLock(svc, encodeLock(svc, quiet))).toEqual({ ok: true, value: quiet });
  });

  it("are never mistaken for a revision, nor a revision for a lock", () => {
    expect(decodeRevision(svc, encodeLock(svc, lock)).ok).toBe(false);
    expect(decodeLock(svc, encodeRevision(svc, full)).ok).toBe(false);
  });

  it("report a bad replica count", () => {
    const d = decodeLock(svc, { ...encodeLock(svc, lock), [LockLabel.replicas]: "many" });
    expect(d).toMatchObject({ ok: false, reason: /lock.replicas is "many"/ });
  });

  it("belong to the same host, pid and since only", () => {
    const labels = encodeLock(svc, lock);
    expect(lockBelongsTo(labels, { ...lock, command: "other", revision: 99 })).toBe(true);
    expect(lockBelongsTo(labels, { ...lock, by: { ...lock.by, pid: 1 } })).toBe(false);
    expect(lockBelongsTo(labels, { ...lock, by: { ...lock.by, host: "runner-2" } })).toBe(false);
    expect(lockBelongsTo(labels, { ...lock, since: "2026-01-02T03:04:06.000Z" })).toBe(false);
    expect(lockBelongsTo(undefined, lock)).toBe(false);
  });
});

describe("names", () => {
  it("are unambiguous: projects have no dots, the number follows the last one", () => {
    expect(lockName(svc)).toBe("compose-roll-lock.shop.web.api");
    expect(revisionName(svc, 12)).toBe("compose-roll-rev.shop.web.api.12");
  });

  it("refuse names Docker or compose would not accept", () => {
    expect(() => lockName({ project: "a.b", service: "c" })).toThrow(RefusedError);
    expect(() => lockName({ project: "shop", service: "web/api" })).toThrow(/service name/);
    expect(() => revisionName({ project: "", service: "web" }, 1)).toThrow(/project name/);
  });
});
