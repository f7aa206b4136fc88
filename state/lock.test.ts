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

describe("DockerLock's lease", () => {
  const leased = (pid: number, host = "runner-1") => ({ ...info(pid, host), leaseMs: 60_000 });

  it("a waiter reads how long ago the holder last renewed, on the Docker host's clock", async () => {
    const { fake, lock } = setup();
    const waiter = new DockerLock({ docker: fake.api });
    await lock.acquire(svc, leased(1));
    fake.hostNow += 30_000;
    expect(await lock.renew(svc, leased(1))).toBe(true);
    fake.hostNow += 45_000;
    const got = await waiter.acquire(svc, leased(2, "runner-2"));
    // The renewal's Created comes rounded up to the second from a list: never an older age.
    expect(got).toEqual({ acquired: false, holder: { ...leased(1), renewedAgoMs: 44_000 } });
    // Without any renewal, the lock's own creation counts.
    await lock.release(svc, leased(1));
    await lock.acquire(svc, leased(3));
    fake.hostNow += 5_000;
    expect((await waiter.read(svc))?.renewedAgoMs).toBe(5_000);
  });

  it("keeps only its newest renewal, and release removes it", async () => {
    const { fake, lock } = setup();
    await lock.acquire(svc, leased(1));
    for (let i = 0; i < 3; i++) expect(await lock.renew(svc, leased(1))).toBe(true);
    expect([...fake.containers.values()].map((c) => c.name).sort()).toEqual([
      "compose-roll-lease.shop.web.3",
      "compose-roll-lock.shop.web",
    ]);
    await lock.release(svc, leased(1));
    expect(fake.containers.size).toBe(0);
  });

  it("renew says false once the lock was released by hand or taken over, and leaves no renewal", async () => {
    const { fake, lock } = setup();
    await lock.acquire(svc, leased(1));
    await new DockerLock({ docker: fake.api }).release(svc); // `compose-roll lock release`
    expect(await lock.renew(svc, leased(1))).toBe(false);
    const other = new DockerLock({ docker: fake.api });
    await lock.acquire(svc, leased(2));
    await other.release(svc, leased(2)); // a waiter broke it...
    await other.acquire(svc, leased(3, "runner-2")); // ...and took it
    expect(await lock.renew(svc, leased(2))).toBe(false);
    expect([...fake.containers.values()].map((c) => c.name)).toEqual(["compose-roll-lock.shop.web"]);
    expect(await other.renew(svc, leased(3, "runner-2"))).toBe(true);
  });

  it("two waiters breaking one expired lease: exactly one gets the lock, the other sees it", async () => {
    const { fake, lock } = setup();
    await lock.acquire(svc, leased(1, "gone"));
    fake.hostNow += 61_000;
    const [w1, w2] = [new DockerLock({ docker: fake.api }), new DockerLock({ docker: fake.api })];
    const seen = await Promise.all([w1.read(svc), w2.read(svc)]);
    expect(seen.map((h) => h?.renewedAgoMs)).toEqual([61_000, 61_000]);
    // Both decide it is stale; their release and acquire interleave.
    await w1.release(svc, seen[0]);
    await w2.release(svc, seen[1]);
    const a = await w1.acquire(svc, leased(2, "w1"));
    await w2.release(svc, seen[1]); // late: by ID and labels, it cannot remove w1's lock
    const b = await w2.acquire(svc, leased(3, "w2"));
    expect(a).toEqual({ acquired: true });
    expect(b).toMatchObject({ acquired: false, holder: { by: { host: "w1" }, renewedAgoMs: 0 } });
  });

  it("a new holder removes renewals a killed holder left behind", async () => {
    const { fake, lock } = setup();
    await lock.acquire(svc, leased(1));
    await lock.renew(svc, leased(1));
    fake.containers.delete([...fake.containers.values()].find((c) => c.name === lockName(svc))?.id ?? "");
    await new DockerLock({ docker: fake.api }).acquire(svc, leased(2));
    expect([...fake.containers.values()].map((c) => c.name)).toEqual(["compose-roll-lock.shop.web"]);
  });
});
