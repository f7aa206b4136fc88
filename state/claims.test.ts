import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LockHeldError } from "../controller/errors.js";
import type { LockInfo } from "../controller/ports.js";
import { claimName, fileRef } from "./claims.js";
import { FakeDocker } from "./fake-docker.test-support.js";
import { DockerLock } from "./lock.js";

const V1 = `sha256:${"a".repeat(64)}`;
const V2 = `sha256:${"b".repeat(64)}`;
const web = { project: "shop", service: "web" };
const api = { project: "shop", service: "api" };

function info(pid: number, command: string): LockInfo {
  return {
    by: { user: "ci", host: `runner-${pid}`, pid },
    since: `2026-01-01T12:00:0${pid}.000Z`,
    target: { ref: "app:v2", id: V2 },
    previous: { ref: "app:v1", id: V1 },
    revision: 2,
    replicas: 2,
    command,
  };
}

function setup() {
  const fake = new FakeDocker();
  fake.addImage(V1);
  fake.addImage(V2);
  const dir = mkdtempSync(join(tmpdir(), "claims-"));
  const file = join(dir, "dynamic.yml");
  writeFileSync(file, "http: {}\n");
  return { fake, dir, file };
}

describe("file claims", () => {
  it("two services sharing one Traefik file: the second rollout is refused while the first writes it, not run alongside", async () => {
    const { fake, file } = setup();
    const ofWeb = new DockerLock({ docker: fake.api, files: [fileRef(file)] });
    const ofApi = new DockerLock({ docker: fake.api, files: [fileRef(file)] });
    const mine = info(1, "roll web --image app:v2");
    expect(await ofWeb.acquire(web, mine)).toEqual({ acquired: true });
    const refused = await ofApi.acquire(api, info(2, "roll api --image app:v2")).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as Error).message).toBe(
      `${file} is written by the rollout of shop/web too (roll web --image app:v2 by ci@runner-1 since 2026-01-01T12:00:01.000Z): two rollouts writing one file would revert each other's changes`,
    );
    // api's own lock is not left behind by the refusal,
    expect(await ofApi.read(api)).toBeUndefined();
    // and once web's rollout is done, api's goes.
    await ofWeb.release(web, mine);
    expect(await ofApi.acquire(api, info(2, "roll api"))).toEqual({ acquired: true });
  });

  it("one file under two names (a symbolic link) is one claim", async () => {
    const { dir, file } = setup();
    const link = join(dir, "link.yml");
    symlinkSync(file, link);
    expect(claimName(fileRef(link))).toBe(claimName(fileRef(file)));
    expect(claimName(fileRef(file, "ssh://root@h:22"))).not.toBe(claimName(fileRef(file)));
  });

  it("a dead holder's claim lasts as long as its lock: once that is released or broken, the file is free", async () => {
    const { fake, file } = setup();
    await new DockerLock({ docker: fake.api, files: [fileRef(file)] }).acquire(web, info(1, "roll web"));
    // That runner was killed; a human releases its lock (`compose-roll lock release web`).
    await new DockerLock({ docker: fake.api }).release(web);
    const ofApi = new DockerLock({ docker: fake.api, files: [fileRef(file)] });
    expect(await ofApi.acquire(api, info(2, "roll api"))).toEqual({ acquired: true });
    const claims = [...fake.containers.values()].filter((c) => c.name.startsWith("compose-roll-file."));
    expect(claims.map((c) => c.labels["com.compose-roll.service"])).toEqual(["api"]);
  });

  it("services writing different files roll side by side", async () => {
    const { fake, file, dir } = setup();
    const other = join(dir, "other.yml");
    await new DockerLock({ docker: fake.api, files: [fileRef(file)] }).acquire(web, info(1, "roll web"));
    const ofApi = new DockerLock({ docker: fake.api, files: [fileRef(other)] });
    expect(await ofApi.acquire(api, info(2, "roll api"))).toEqual({ acquired: true });
  });
});
