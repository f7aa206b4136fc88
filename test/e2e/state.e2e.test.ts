// state/ against the real engine (Debian's Docker 20.10, API 1.41 here): the lock race, the
// history's pruning, and the image pins. Everything created carries this run's project name
// (st-<pid>) in its labels or name; afterAll removes all of it, and nothing else.
import { execFile } from "node:child_process";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LockInfo, Revision } from "../../controller/ports.js";
import { connect } from "../../engine/docker.js";
import {
  DockerHistory,
  DockerLock,
  encodeRevision,
  RevisionLabel,
  revisionName,
  StateLabel,
} from "../../state/index.js";

const run = promisify(execFile);
const P = `st-${process.pid}`;
const PIN = `st-pin-${process.pid}:x`;
const APP = "compose-roll-demo/app";
const ids: Record<string, string> = {};
let docker: Docker;
let pinId = "";
const timings: string[] = [];

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings.push(`${label}: ${(performance.now() - t0).toFixed(1)}ms`);
  }
}

const ours = () => docker.listContainers({ all: true, filters: { label: [`${StateLabel.project}=${P}`] } });

async function removeOurs(): Promise<void> {
  for (const c of await ours()) await docker.getContainer(c.Id).remove({ force: true, v: true });
  // Revision records are named volumes too, which removing their containers leaves behind.
  const { Volumes } = await docker.listVolumes();
  for (const v of Volumes ?? [])
    if (v.Name.startsWith(`compose-roll-rev.${P}.`))
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => {});
}

function info(pid: number, tag = "v2"): LockInfo {
  return {
    by: { user: "e2e", host: `runner-${pid}`, pid },
    since: new Date(Date.UTC(2026, 0, 1, 0, 0, pid)).toISOString(),
    target: { ref: `${APP}:${tag}`, id: ids[tag] as string },
    previous: { ref: `${APP}:v1`, id: ids.v1 as string },
    revision: pid,
    replicas: 2,
    command: `compose-roll deploy web --image ${APP}:${tag}`,
  };
}

function rev(number: number, image = { ref: `${APP}:v${(number % 3) + 1}`, id: "" }): Revision {
  const id = image.id || (ids[image.ref.split(":")[1] ?? ""] as string);
  return {
    number,
    image: { ref: image.ref, id },
    by: { user: "e2e", host: "runner", pid: process.pid, ciJob: `github:acme/shop#${number}` },
    at: new Date(Date.UTC(2026, 0, 1, 0, number)).toISOString(),
    result: "complete",
    ...(number > 1 ? { previous: number - 1 } : {}),
    settings: { network: `${P}_front`, port: "8000" },
  };
}

beforeAll(async () => {
  ({ docker } = await connect());
  for (const tag of ["v1", "v2", "v3"]) {
    ids[tag] = (await docker.getImage(`${APP}:${tag}`).inspect()).Id;
  }
  // An image only this run uses, so that a record is the one thing keeping it: v3 plus a
  // label gives a new ID (a plain re-tag of v3 would share v3's ID, which v3's own tag
  // already protects). Its VOLUME and compose labels test that records create no anonymous
  // volume and are invisible to compose.
  const dockerfile = [
    `FROM ${APP}:v3`,
    `LABEL st.pin=${P} com.docker.compose.project=${P} com.docker.compose.service=web`,
    "VOLUME /data",
  ].join("\n");
  await new Promise<void>((ok, fail) => {
    const child = execFile("docker", ["build", "-q", "-t", PIN, "-"], (err) => (err ? fail(err) : ok()));
    child.stdin?.end(dockerfile);
  });
  pinId = (await docker.getImage(PIN).inspect()).Id;
  await removeOurs();
});

afterAll(async () => {
  if (timings.length) console.log(`state e2e timings:\n  ${timings.join("\n  ")}`);
  if (!docker) return;
  await removeOurs();
  await run("docker", ["rmi", "-f", PIN]).catch(() => {});
  if (pinId) await run("docker", ["rmi", pinId]).catch(() => {});
});

describe("DockerLock on the real engine", () => {
  const svc = { project: P, service: "web" };

  it("two racing acquires: exactly one wins, the other sees the winner", async () => {
    const lock = new DockerLock({ docker });
    const [a, b] = await Promise.all([
      timed("acquire (racing, 1 of 2)", () => lock.acquire(svc, info(1))),
      timed("acquire (racing, 2 of 2)", () => lock.acquire(svc, info(2))),
    ]);
    const results = [a, b];
    const winners = results.flatMap((r, i) => (r.acquired ? [i + 1] : []));
    expect(winners).toHaveLength(1);
    const winner = info(winners[0] as number);
    const loser = results.find((r) => !r.acquired);
    expect(loser).toEqual({ acquired: false, holder: winner });
    expect(await timed("read", () => lock.read(svc))).toEqual(winner);
    await lock.release(svc, winner);
    expect(await lock.read(svc)).toBeUndefined();
  });

  it("five runners, each with its own connection: one wins, four see it", async () => {
    const runners = await Promise.all(
      [1, 2, 3, 4, 5].map(async () => new DockerLock({ docker: (await connect()).docker })),
    );
    const t0 = performance.now();
    const results = await Promise.all(runners.map((l, i) => l.acquire(svc, info(10 + i, "v3"))));
    timings.push(`5 racing acquires, all settled: ${(performance.now() - t0).toFixed(1)}ms`);
    const won = results.flatMap((r, i) => (r.acquired ? [10 + i] : []));
    expect(won).toHaveLength(1);
    const holder = info(won[0] as number, "v3");
    for (const r of results) if (!r.acquired) expect(r.holder).toEqual(holder);
    await new DockerLock({ docker }).release(svc, holder);
  });

  it("is a never-started, network-less container outside compose", async () => {
    const lock = new DockerLock({ docker });
    expect(await timed("acquire (uncontended)", () => lock.acquire(svc, info(30)))).toEqual({
      acquired: true,
    });
    const c = await docker.getContainer(`compose-roll-lock.${P}.web`).inspect();
    expect(c.State.Status).toBe("created");
    expect(c.Image).toBe(ids.v2);
    expect(c.HostConfig.NetworkMode).toBe("none");
    expect(Object.keys(c.Config.Labels).filter((k) => k.startsWith("com.docker.compose"))).toEqual([]);
    await timed("release (own)", () => lock.release(svc, info(30)));
  });

  it("release with someone else's info leaves the lock; a forced release removes it", async () => {
    const lock = new DockerLock({ docker });
    await lock.acquire(svc, info(40));
    await lock.release(svc, info(41));
    await lock.release(svc, { ...info(40), since: new Date().toISOString() });
    expect(await lock.read(svc)).toEqual(info(40));
    await timed("release (forced)", () => lock.release(svc));
    expect(await lock.read(svc)).toBeUndefined();
    await lock.release(svc); // idempotent
  });
});

describe("DockerHistory on the real engine", () => {
  const svc = { project: P, service: "api" };

  it("records 12 revisions with keep=10: the newest 10 remain, each pinning its image", async () => {
    const history = new DockerHistory({ docker });
    for (let n = 1; n <= 11; n++) await history.record(svc, rev(n), 10);
    await timed("record (create + list + prune 1)", () => history.record(svc, rev(12), 10));
    const list = await timed("list (10 records)", () => history.list(svc));
    expect(list.map((r) => r.number)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(list[0]).toEqual(rev(12));
    for (const r of list) {
      const c = await docker.getContainer(revisionName(svc, r.number)).inspect();
      expect(c.Image).toBe(r.image.id);
      expect(c.State.Status).toBe("created");
      expect(c.HostConfig.NetworkMode).toBe("none");
    }
    await expect(docker.getContainer(revisionName(svc, 2)).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it("a kept record pins its image: rmi and image prune refuse until the record is pruned", async () => {
    const pinned = { project: P, service: "pinned" };
    const history = new DockerHistory({ docker });
    await history.record(pinned, rev(1, { ref: PIN, id: pinId }), 10);
    const c = await docker.getContainer(revisionName(pinned, 1)).inspect();
    // Only the record's own named volume (mounted so `docker volume prune` keeps it): the
    // image's VOLUME made no anonymous volume.
    expect(c.Mounts.map((m) => `${m.Type} ${m.Name} ${m.Destination} ${m.RW}`)).toEqual([
      `volume ${c.Mounts[0]?.Name} /.compose-roll-record false`,
    ]);
    expect(c.Mounts[0]?.Name).toMatch(/^compose-roll-rev\..*\.pinned\.1$/);
    // Invisible to compose (`docker compose ps/down` filter on this label) despite the image's.
    const composeSees = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${P}`] },
    });
    expect(composeSees).toEqual([]);

    const rmi = await run("docker", ["rmi", PIN]).then(
      () => "removed",
      (err: { stderr: string }) => err.stderr,
    );
    expect(rmi).toMatch(/conflict|being used|is using/i);
    await run("docker", ["image", "prune", "-a", "-f", "--filter", `label=st.pin=${P}`]);
    expect((await docker.getImage(pinId).inspect()).Id).toBe(pinId);

    // Two newer revisions with keep=1: revision 1 is neither newest nor named as previous by it.
    await history.record(pinned, rev(2), 1);
    await history.record(pinned, rev(3), 1);
    expect((await history.list(pinned)).map((r) => r.number)).toEqual([3, 2]);
    await run("docker", ["rmi", PIN]);
    await expect(docker.getImage(pinId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    pinId = "";
  });

  it("skips a record with a mangled label and reports it", async () => {
    const mangled = { project: P, service: "mangled" };
    const damaged: [string, string][] = [];
    const history = new DockerHistory({ docker, onDamaged: (name, reason) => damaged.push([name, reason]) });
    await history.record(mangled, rev(1), 10);
    const name = revisionName(mangled, 2);
    await docker.createContainer({
      name,
      Image: ids.v3,
      Entrypoint: ["/nonexistent"],
      Labels: { ...encodeRevision(mangled, rev(2)), [RevisionLabel.number]: "two" },
      HostConfig: { NetworkMode: "none" },
    });
    expect((await history.list(mangled)).map((r) => r.number)).toEqual([1]);
    expect(damaged).toEqual([[name, expect.stringMatching(/revision.number is "two"/)]]);
    // Damage is never a reason to delete: pruning leaves it for a human.
    await history.record(mangled, rev(3), 1);
    expect((await docker.getContainer(name).inspect()).Name).toBe(`/${name}`);
  });

  it("refuses a revision number that is already recorded", async () => {
    const history = new DockerHistory({ docker });
    const svc2 = { project: P, service: "dup" };
    await history.record(svc2, rev(1), 10);
    await expect(history.record(svc2, rev(1), 10)).rejects.toThrow(/already exists/);
  });

  it("latestIn names the service of the project's latest rollout", async () => {
    const history = new DockerHistory({ docker });
    expect(await history.latestIn(P)).toBe("api"); // its revision 12 has the latest `at`
    expect(await history.latestIn(`${P}-none`)).toBeUndefined();
  });
});
