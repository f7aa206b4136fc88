import { describe, expect, it, vi } from "vitest";
import { EngineError, LockHeldError, RefusedError } from "../controller/errors.js";
import type { LockInfo } from "../controller/ports.js";
import { FakeDocker } from "./fake-docker.test-support.js";
import { encodeLock, LockLabel, lockName } from "./labels.js";
import { DockerLock, RETRY_MS } from "./lock.js";

const svc = { project: "shop", service: "web" };
const V1 = `sha256:${"a".repeat(64)}`;
const V2 = `sha256:${"b".repeat(64)}`;

function info(pid: number, host = "runner-1"): LockInfo {
  return {
    by: { user: "ci", host, pid },
    since: `2026-01-01T12:00:0${pid % 10}.000Z`,
    target: { ref: "app:v2", id: V2 },
    previous: { ref: "app:v1", id: V1 },
    revision: 4,
    replicas: 2,
    command: "compose-roll deploy web",
  };
}

function setup() {
  const fake = new FakeDocker();
  fake.addImage(V1);
  fake.addImage(V2, ["/data"], { "com.docker.compose.project": "shop", "org.example": "kept" });
  const damaged: string[] = [];
  const lock = new DockerLock({
    docker: fake.api,
    onDamaged: (name, reason) => damaged.push(`${name}: ${reason}`),
  });
  return { fake, lock, damaged };
}

describe("DockerLock", () => {
  it("creates one never-run container from the target image, outside compose and every network", async () => {
    const { fake, lock } = setup();
    expect(await lock.acquire(svc, info(1))).toEqual({ acquired: true });
    const [req] = fake.created;
    expect(req?.name).toBe("compose-roll-lock.shop.web");
    expect(req?.body).toMatchObject({
      Image: V2,
      NetworkDisabled: true,
      HostConfig: { NetworkMode: "none", Tmpfs: { "/data": "" } },
    });
    const labels = (req?.body as { Labels?: Record<string, string> } | undefined)?.Labels ?? {};
    // A committed image's compose labels are blanked, so compose never counts the lock.
    expect(Object.entries(labels).filter(([k, v]) => k.startsWith("com.docker.compose") && v)).toEqual([]);
    expect(await lock.read(svc)).toEqual(info(1));
  });

  it("the loser sees the holder", async () => {
    const { lock } = setup();
    await lock.acquire(svc, info(1));
    expect(await lock.acquire(svc, info(2))).toEqual({ acquired: false, holder: info(1) });
  });

  it("retries once when the holder releases between the 409 and the read", async () => {
    const { fake, lock } = setup();
    await lock.acquire(svc, info(1));
    fake.afterConflict = () => {
      fake.afterConflict = undefined;
      void lock.release(svc);
    };
    expect(await lock.acquire(svc, info(2))).toEqual({ acquired: true });
    expect(await lock.read(svc)).toEqual(info(2));
  });

  it("waits out a winner whose create is still running (409, then 404)", async () => {
    const { fake, lock } = setup();
    fake.reserved.add(lockName(svc));
    let conflicts = 0;
    fake.afterConflict = () => {
      // The winner's create finishes after our second try.
      if (++conflicts === 2) {
        fake.reserved.clear();
        fake.add(lockName(svc), V2, encodeLock(svc, info(1)));
      }
    };
    expect(await lock.acquire(svc, info(2))).toEqual({ acquired: false, holder: info(1) });
    expect(conflicts).toBe(2);
  });

  it("gives up with LockHeldError when the holder stays unreadable through every retry", async () => {
    vi.useFakeTimers();
    const { fake, lock } = setup();
    fake.reserved.add(lockName(svc));
    const attempt = lock.acquire(svc, info(2)).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    vi.useRealTimers();
    const err = await attempt;
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).message).toMatch(/could not be read for 1.575s/);
    expect(fake.created).toHaveLength(RETRY_MS.length);
  });

  it("treats a container with unreadable labels as held, and says how to clear it", async () => {
    const { fake, lock, damaged } = setup();
    fake.add(lockName(svc), V1, { ...encodeLock(svc, info(1)), [LockLabel.pid]: "x" });
    const err = await lock.acquire(svc, info(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).hint).toMatch(/compose-roll lock release/);
    expect(damaged).toEqual([expect.stringMatching(/^compose-roll-lock.shop.web: lock.pid is "x"/)]);
    await expect(lock.read(svc)).rejects.toThrow(LockHeldError);
  });

  it("releases only its own lock, unless forced; both are idempotent", async () => {
    const { fake, lock } = setup();
    await lock.acquire(svc, info(1));
    await lock.release(svc, info(2));
    await lock.release(svc, info(1, "runner-2"));
    expect(await lock.read(svc)).toEqual(info(1));
    await lock.release(svc, info(1));
    expect(await lock.read(svc)).toBeUndefined();
    await lock.release(svc, info(1));
    await lock.acquire(svc, info(3));
    await lock.release(svc);
    await lock.release(svc);
    expect(fake.containers.size).toBe(0);
  });

  it("turns a missing target image into an EngineError naming it, and refuses a tag for an ID", async () => {
    const { fake, lock } = setup();
    const gone = { ...info(1), target: { ref: "app:v9", id: `sha256:${"9".repeat(64)}` } };
    const err = await lock.acquire(svc, gone).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).message).toMatch(/^Docker: could not take the lock of shop\/web/);
    expect((err as EngineError).hint).toMatch(/999999999999 is no longer on this host/);
    fake.images.set("app:v2", { Id: V2, Config: {} });
    await expect(lock.acquire(svc, { ...info(1), target: { ref: "app:v2", id: "app:v2" } })).rejects.toThrow(
      RefusedError,
    );
  });
});
