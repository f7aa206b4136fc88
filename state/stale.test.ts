import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { Actor, LockInfo } from "../controller/ports.js";
import { isStale, pidAlive } from "./stale.js";

const self: Actor = { user: "me", host: "runner-1", pid: 100 };
const since = "2026-01-01T12:00:00.000Z";
const at = (minutes: number) => new Date(Date.parse(since) + minutes * 60_000);
const HOUR = 3_600_000;

function held(by: Partial<Actor>, when = since): LockInfo {
  return {
    by: { user: "ci", host: "runner-1", pid: 200, ...by },
    since: when,
    target: { ref: "app:v2", id: "sha256:b" },
    previous: { ref: "app:v1", id: "sha256:a" },
    revision: 3,
    replicas: 2,
    command: "compose-roll deploy web",
  };
}
const dead = () => false;
const alive = () => true;

describe("isStale", () => {
  it("same host, holder pid gone: stale at once", () => {
    const s = isStale(held({}), self, at(1), dead, HOUR);
    expect(s).toEqual({
      stale: true,
      why: expect.stringMatching(/pid 200 is no longer running on this host/),
    });
  });

  it("same host, holder alive: never stale, however old", () => {
    const s = isStale(held({}), self, at(600), alive, HOUR);
    expect(s.stale).toBe(false);
    expect(s.why).toMatch(/still running/);
  });

  it("asks about the holder's pid, not ours", () => {
    const seen: number[] = [];
    isStale(held({}), self, at(1), (pid) => seen.push(pid) > 0, HOUR);
    expect(seen).toEqual([200]);
  });

  it("another host: its pid means nothing here, only age counts", () => {
    const other = held({ host: "runner-2", ciJob: "github:acme/shop#9" });
    const never = () => {
      throw new Error("must not check a pid on another host");
    };
    expect(isStale(other, self, at(59), never, HOUR).stale).toBe(false);
    const old = isStale(other, self, at(61), never, HOUR);
    expect(old.stale).toBe(true);
    expect(old.why).toMatch(
      /runner-2 pid 200 \(github:acme\/shop#9\): taken 61min ago, more than the 60min limit/,
    );
  });

  it("another host, clock skew or unreadable time: not stale", () => {
    expect(isStale(held({ host: "runner-2" }), self, at(-30), dead, HOUR).stale).toBe(false);
    const bad = isStale(held({ host: "runner-2" }, "whenever"), self, at(600), dead, HOUR);
    expect(bad).toEqual({ stale: false, why: expect.stringMatching(/cannot be read/) });
  });
});

describe("pidAlive", () => {
  it("sees this process, not an exited one, and never signals a group", () => {
    expect(pidAlive(process.pid)).toBe(true);
    const child = spawnSync(process.execPath, ["-e", ""]);
    expect(pidAlive(child.pid ?? -1)).toBe(false);
    expect(pidAlive(0)).toBe(false);
    expect(pidAlive(-1)).toBe(false);
  });
});
