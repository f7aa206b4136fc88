import { describe, expect, it } from "vitest";
import { EngineError } from "../controller/errors.js";
import type { Revision } from "../controller/ports.js";
import { FakeDocker } from "./fake-docker.test-support.js";
import { DockerHistory } from "./history.js";
import { encodeRevision, RevisionLabel, revisionName } from "./labels.js";

const svc = { project: "shop", service: "web" };
const img = (n: number) => `sha256:${String(n % 10).repeat(64)}`;

function rev(number: number, at = number): Revision {
  return {
    number,
    image: { ref: `app:${number}`, id: img(number) },
    by: { user: "ci", host: "runner-1", pid: 10 },
    at: new Date(Date.UTC(2026, 0, 1, 0, at)).toISOString(),
    result: "complete",
    ...(number > 1
      ? { previous: number - 1, previousImage: { ref: `app:${number - 1}`, id: img(number - 1) } }
      : {}),
  };
}

function setup() {
  const fake = new FakeDocker();
  for (let i = 0; i < 10; i++) fake.addImage(img(i));
  const damaged: [string, string][] = [];
  const history = new DockerHistory({ docker: fake.api, onDamaged: (n, r) => damaged.push([n, r]) });
  return { fake, history, damaged };
}

describe("DockerHistory", () => {
  it("records into named containers pinning each image, newest first, pruning beyond keep", async () => {
    const { fake, history } = setup();
    for (let n = 1; n <= 12; n++) await history.record(svc, rev(n), 10);
    const list = await history.list(svc);
    expect(list.map((r) => r.number)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(list[0]).toEqual(rev(12));
    expect(fake.created.at(-1)).toMatchObject({
      name: "compose-roll-rev.shop.web.12",
      body: { Image: img(12) },
    });
    expect(fake.containers.size).toBe(10);
    expect([...fake.volumes.keys()]).toHaveLength(10);
    // Each pin refers to its record volume, which keeps the volume from `docker volume prune`.
    expect(fake.created.at(-1)?.body).toMatchObject({
      HostConfig: { Mounts: [{ Type: "volume", Source: "compose-roll-rev.shop.web.12", ReadOnly: true }] },
    });
  });

  it("survives `docker container prune`: the volumes are the records, the pins only pin", async () => {
    const { fake, history } = setup();
    for (let n = 1; n <= 3; n++) await history.record(svc, rev(n), 10);
    fake.containers.clear();
    expect(await history.list(svc)).toEqual([rev(3), rev(2), rev(1)]);
    // The next write prunes what is beyond keep, volumes included, and goes on as before.
    await history.record(svc, rev(4), 2);
    expect((await history.list(svc)).map((r) => r.number)).toEqual([4, 3]);
    expect([...fake.volumes.keys()].sort()).toEqual([
      "compose-roll-rev.shop.web.3",
      "compose-roll-rev.shop.web.4",
    ]);
  });

  it("reads records an older compose-roll wrote as containers only, and gives them a volume at the next write", async () => {
    const { fake, history } = setup();
    for (let n = 1; n <= 2; n++) fake.add(revisionName(svc, n), img(n), encodeRevision(svc, rev(n)));
    expect(await history.list(svc)).toEqual([rev(2), rev(1)]);
    await history.record(svc, rev(3), 10);
    expect([...fake.volumes.keys()].sort()).toEqual([1, 2, 3].map((n) => revisionName(svc, n)));
    fake.containers.clear();
    expect((await history.list(svc)).map((r) => r.number)).toEqual([3, 2, 1]);
  });

  it("refuses a number already recorded, with the container to look at", async () => {
    const { history } = setup();
    await history.record(svc, rev(1), 10);
    const err = await history.record(svc, rev(1), 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).message).toMatch(/compose-roll-rev.shop.web.1 already exists/);
    // A volume left without its pin (the pin pruned) still holds the number.
    const { fake, history: h2 } = setup();
    await h2.record(svc, rev(1), 10);
    fake.containers.clear();
    await expect(h2.record(svc, rev(1), 10)).rejects.toThrow(
      /volume compose-roll-rev.shop.web.1 already exists/,
    );
  });

  it("skips damaged, misnamed and mislabelled records and reports each", async () => {
    const { fake, history, damaged } = setup();
    await history.record(svc, rev(1), 10);
    fake.add(revisionName(svc, 2), img(2), { ...encodeRevision(svc, rev(2)), [RevisionLabel.result]: "meh" });
    fake.add("by-hand", img(3), encodeRevision(svc, rev(3)));
    fake.add(revisionName(svc, 4), img(7), encodeRevision(svc, rev(4)));
    expect((await history.list(svc)).map((r) => r.number)).toEqual([1]);
    expect(damaged).toEqual([
      ["compose-roll-rev.shop.web.2", expect.stringMatching(/revision.result is "meh"/)],
      ["by-hand", expect.stringMatching(/named compose-roll-rev.shop.web.3/)],
      ["compose-roll-rev.shop.web.4", expect.stringMatching(/says image 444444444444 but pins 777777777777/)],
    ]);
  });

  it("says the revision was recorded when only pruning failed", async () => {
    const { fake, history } = setup();
    await history.record(svc, rev(1), 1);
    await history.record(svc, rev(2), 1);
    fake.removeError = () => Object.assign(new Error("driver failed"), { statusCode: 500 });
    const err = await history.record(svc, rev(3), 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).message).toMatch(
      /^revision 3 was recorded, but 1 old record\(s\) could not be removed/,
    );
    expect((await history.list(svc)).map((r) => r.number)).toEqual([3, 2, 1]);
  });

  it("finds the service of a project's latest rollout by time, not number", async () => {
    const { history } = setup();
    expect(await history.latestIn("shop")).toBeUndefined();
    await history.record({ project: "shop", service: "api" }, rev(7, 1), 10);
    await history.record({ project: "shop", service: "web" }, rev(2, 5), 10);
    await history.record({ project: "other", service: "db" }, rev(1, 9), 10);
    expect(await history.latestIn("shop")).toBe("web");
    // Every service's records, each once (volume and pin are one record), none of another project.
    const all = await history.listProject("shop");
    expect(all.map((r) => `${r.service}#${r.revision.number}`).sort()).toEqual(["api#7", "web#2"]);
  });
});

describe("a tampered revision number", () => {
  it("is skipped with a warning, and the next rollout records the number after the sane ones", async () => {
    const { fake, history, damaged } = setup();
    for (let n = 1; n <= 2; n++) await history.record(svc, rev(n), 10);
    const huge = 999_999_999_999_999;
    const name = revisionName(svc, huge);
    const labels = { ...encodeRevision(svc, rev(3)), [RevisionLabel.number]: String(huge) };
    fake.add(name, img(3), labels);
    const list = await history.list(svc);
    expect(list.map((r) => r.number)).toEqual([2, 1]);
    expect(damaged).toContainEqual([
      name,
      expect.stringMatching(/revision\.number is "999999999999999", beyond/),
    ]);
    // What deploy does: the next number after the newest record.
    const next = (list[0]?.number ?? 0) + 1;
    await history.record(svc, rev(next), 10);
    expect((await history.list(svc)).map((r) => r.number)).toEqual([3, 2, 1]);
  });
});
