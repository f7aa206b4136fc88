import { describe, expect, it } from "vitest";
import type { Actor, LockInfo, ProcessTag } from "../controller/ports.js";
import { isStale, type Observer } from "./stale.js";

const self: Actor = { user: "me", host: "runner-1", pid: 100 };
const tag: ProcessTag = { start: "5000", boot: "boot-a", pidns: "pid:[1]" };
const since = "2026-01-01T12:00:00.000Z";
const at = (minutes: number) => new Date(Date.parse(since) + minutes * 60_000);
const HOUR = 3_600_000;

function held(by: Partial<Actor>, extra: Partial<LockInfo> = {}): LockInfo {
  return {
    by: { user: "ci", host: "runner-1", pid: 200, ...by },
    since,
    target: { ref: "app:v2", id: "sha256:b" },
    previous: { ref: "app:v1", id: "sha256:a" },
    revision: 3,
    replicas: 2,
    command: "compose-roll deploy web",
    ...extra,
  };
}
const dead = () => false;
const alive = () => true;
const never = () => {
  throw new Error("must not check a pid that means nothing here");
};
const obs = (o: Partial<Observer> = {}): Observer => ({
  self,
  tag,
  now: at(1),
  alive: dead,
  staleAfterMs: HOUR,
  ...o,
});

describe("isStale: a holder on this machine", () => {
  it("pid gone: stale at once", () => {
    expect(isStale(held({}), obs())).toEqual({
      stale: true,
      why: expect.stringMatching(/pid 200 is no longer running on this host/),
    });
  });

  it("alive: never stale, however old, with or without a lease", () => {
    const s = isStale(held({}), obs({ now: at(600), alive }));
    expect(s.stale).toBe(false);
    expect(s.why).toMatch(/still running/);
    const lease = held({}, { process: tag, leaseMs: 60_000, renewedAgoMs: HOUR });
    expect(isStale(lease, obs({ alive })).stale).toBe(false);
  });

  it("asks about the holder's pid and its recorded start time, not ours", () => {
    const seen: [number, string | undefined][] = [];
    const alive = (pid: number, start?: string) => seen.push([pid, start]) > 0;
    isStale(held({}, { process: { ...tag, start: "4242" } }), obs({ alive }));
    isStale(held({}), obs({ alive }));
    expect(seen).toEqual([
      [200, "4242"],
      [200, undefined],
    ]);
  });
});

describe("isStale: a holder elsewhere", () => {
  const lease = (renewedAgoMs?: number, by: Partial<Actor> = { host: "runner-2" }) =>
    held(by, { leaseMs: 60_000, ...(renewedAgoMs === undefined ? {} : { renewedAgoMs }) });

  it("with a lease: stale only once it went unrenewed for longer than the lease", () => {
    expect(isStale(lease(59_000), obs({ alive: never })).stale).toBe(false);
    const s = isStale(lease(61_000), obs({ alive: never }));
    expect(s).toEqual({
      stale: true,
      why: expect.stringMatching(/on another host, last renewed its 60s lease 61s ago/),
    });
  });

  it("with a lease: the runner's clock is not used (skew of days changes nothing)", () => {
    expect(isStale(lease(1_000), obs({ now: at(60 * 24 * 3), alive: never })).stale).toBe(false);
    expect(isStale(lease(70_000), obs({ now: at(-60 * 24), alive: never })).stale).toBe(true);
  });

  it("with a lease whose renewal cannot be read: not stale", () => {
    expect(isStale(lease(undefined), obs({ alive: never }))).toEqual({
      stale: false,
      why: expect.stringMatching(/lease cannot be read/),
    });
  });

  it("same host name, another boot or pid namespace: its pid means nothing here", () => {
    for (const other of [
      { ...tag, boot: "boot-b" },
      { ...tag, pidns: "pid:[2]" },
    ]) {
      const l = { ...lease(61_000, {}), process: other };
      const s = isStale(l, obs({ alive: never }));
      expect(s).toEqual({
        stale: true,
        why: expect.stringMatching(/in another container or boot of this host/),
      });
    }
  });

  it("without a lease (an older compose-roll): only age counts", () => {
    const other = held({ host: "runner-2", ciJob: "github:acme/shop#9" });
    expect(isStale(other, obs({ now: at(59), alive: never })).stale).toBe(false);
    const old = isStale(other, obs({ now: at(61), alive: never }));
    expect(old.stale).toBe(true);
    expect(old.why).toMatch(
      /runner-2 pid 200 \(github:acme\/shop#9\): taken 61min ago, more than the 60min limit/,
    );
  });

  it("without a lease, clock skew or unreadable time: not stale", () => {
    expect(isStale(held({ host: "runner-2" }), obs({ now: at(-30) })).stale).toBe(false);
    const bad = isStale({ ...held({ host: "runner-2" }), since: "whenever" }, obs({ now: at(600) }));
    expect(bad).toEqual({ stale: false, why: expect.stringMatching(/cannot be read/) });
  });
});
