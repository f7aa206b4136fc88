// Pulling like compose: the target image lives only in a private registry with basic auth
// (docker-registry on 127.0.0.1), credentials come from a DOCKER_CONFIG the test writes,
// and compose-roll pulls before it changes anything. Each failure must refuse (exit 2)
// with one line naming the ref and the reason, leaving the same containers running.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe } from "../load/probe.js";
import { containers, runCli, stackArgs } from "../support/cli.js";
import { type Registry, startRegistry } from "../support/registry.js";
import { type DemoStack, freePort, PATIENT_HEALTH, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

const docker = new Docker();
let stack: DemoStack;
let registry: Registry;
let ref: string;

/**
 * v2 plus one 4 MB layer of its own, so that after the push removes the only local tag the
 * pull really downloads something (the base layers stay on the host under app:v2).
 */
async function buildUnique(tag: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cr-pull-build-"));
  writeFileSync(join(dir, "Dockerfile"), "FROM compose-roll-demo/app:v2\nCOPY payload /opt/payload\n");
  writeFileSync(join(dir, "payload"), randomBytes(4_000_000));
  const stream = await docker.buildImage({ context: dir, src: ["Dockerfile", "payload"] }, { t: tag });
  const out = await new Promise<{ error?: string }[]>((ok, fail) =>
    docker.modem.followProgress(stream, (err: Error | null, res: { error?: string }[]) =>
      err ? fail(err) : ok(res),
    ),
  );
  const error = out.find((l) => l.error)?.error;
  if (error) throw new Error(`docker build ${tag}: ${error}`);
}

beforeAll(async () => {
  const local = `compose-roll-e2e/pull-v2:${process.pid}`;
  [registry, stack] = await Promise.all([
    startRegistry(),
    startDemo("pull", {}, PATIENT_HEALTH),
    buildUnique(local),
  ]);
  const t0 = Date.now();
  ref = await registry.push(local, "demo/app:v2");
  await docker.getImage(local).remove();
  console.log(`pushed ${ref} in ${Date.now() - t0} ms`);
  const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
  await registry?.stop();
  if (ref)
    await docker
      .getImage(ref)
      .remove()
      .catch(() => undefined);
});

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function ids(): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${stack.project}`, "com.docker.compose.service=web"] },
  });
  return list.map((c) => c.Id).sort();
}

async function isLocal(r: string): Promise<boolean> {
  return docker
    .getImage(r)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

function roll(image: string, dockerConfig: string, extra: string[] = []) {
  return runCli(["web", "--image", image, ...extra, ...stackArgs(stack), "--json"], {
    cwd: stack.dir,
    env: { DOCKER_CONFIG: dockerConfig },
  });
}

/** The refusal: exit 2, the message line first, nothing of the service changed. */
async function expectRefused(run: Awaited<ReturnType<typeof roll>>, line: RegExp, before: string[]) {
  expect(run.code, run.stderr).toBe(2);
  const [first] = run.stderr.split("\n");
  expect(first).toMatch(line);
  expect(run.events.filter((e) => e.type !== "pull")).toEqual([]);
  expect(await ids()).toEqual(before);
}

describe("pull before rollout", () => {
  it("refuses wrong credentials, unknown tags, unreachable registries and --pull never (exit 2)", async () => {
    const before = await ids();
    const host = registry.host.replace(/\./g, "\\.");
    const t0 = Date.now();

    const wrong = await roll(ref, registry.dockerConfig("not-the-password"));
    await expectRefused(
      wrong,
      new RegExp(
        `^compose-roll: cannot pull ${host}/demo/app:v2: ${host} rejected the credentials from .*config\\.json`,
      ),
      before,
    );
    expect(wrong.events[0]).toMatchObject({ type: "pull", ref, status: "pulling" });

    const anonymous = await roll(ref, mkdtempSync(join(tmpdir(), "cr-noconfig-")));
    await expectRefused(
      anonymous,
      new RegExp(
        `^compose-roll: cannot pull ${host}/demo/app:v2: ${host} requires credentials and none were found`,
      ),
      before,
    );

    const unknown = await roll(`${registry.host}/demo/app:nope`, registry.dockerConfig());
    await expectRefused(
      unknown,
      new RegExp(`^compose-roll: cannot pull ${host}/demo/app:nope: no such tag or repository on ${host}`),
      before,
    );

    const closed = `127.0.0.1:${await freePort()}`;
    const unreachable = await roll(`${closed}/demo/app:v2`, registry.dockerConfig());
    await expectRefused(
      unreachable,
      new RegExp(
        `^compose-roll: cannot pull ${closed.replace(/\./g, "\\.")}/demo/app:v2: registry .* is unreachable .*connection refused`,
      ),
      before,
    );

    const never = await roll(ref, registry.dockerConfig(), ["--pull", "never"]);
    await expectRefused(
      never,
      new RegExp(
        `^compose-roll: image ${host}/demo/app:v2 is not on the Docker host and --pull never forbids pulling it$`,
      ),
      before,
    );
    expect(never.events).toEqual([]);

    const build = await roll(ref, registry.dockerConfig(), ["--pull", "build"]);
    await expectRefused(build, /^compose-roll: --pull build: compose-roll does not build images$/, before);

    expect(await isLocal(ref)).toBe(false);
    console.log(`six refusals in ${Date.now() - t0} ms`);
  });

  it("pulls a missing image from the private registry, then rolls to it with zero failed requests", async () => {
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
    const run = await roll(ref, registry.dockerConfig());
    const load = await probe.stop();
    console.log(`pull + roll to ${ref}: exit ${run.code}; ${formatReport(load)}`);
    expect(run.code, run.stderr).toBe(0);
    const pulls = run.events.filter((e) => e.type === "pull");
    expect(pulls[0]).toMatchObject({ ref, status: "pulling", detail: `from ${registry.host}` });
    expect(pulls.at(-1)).toMatchObject({ ref, status: "pulled", detail: "Downloaded newer image" });
    // The image's own layer was downloaded: the progress counted its bytes.
    expect(pulls.at(-1)).toMatchObject({ bytes: { total: expect.any(Number) } });
    console.log(`pull: ${JSON.stringify(pulls.at(-1))}, ${pulls.length} pull events`);
    // The pull came first: no replica event before it finished.
    const firstOther = run.events.findIndex((e) => e.type !== "pull");
    expect(run.events.slice(0, firstOther).every((e) => e.type === "pull")).toBe(true);
    expectNoneFailed(load);
    expect(load.releases).toEqual(["v1", "v2"]);
    const cs = await containers(stack.project);
    expect(cs.map((c) => `${c.image} ${c.state} ${c.health}`)).toEqual(
      Array(3).fill(`${ref} running healthy`),
    );
  });

  it("missing: uses the present image without asking the registry; always: asks it again", async () => {
    const before = await ids();
    // Wrong credentials prove the registry was never contacted.
    const missing = await roll(ref, registry.dockerConfig("not-the-password"));
    expect(missing.code, missing.stderr).toBe(0);
    expect(missing.events[0]).toMatchObject({ type: "pull", ref, status: "present" });
    expect(missing.stderr).toMatch(/already runs/);

    const always = await roll(ref, registry.dockerConfig(), ["--pull", "always"]);
    expect(always.code, always.stderr).toBe(0);
    expect(always.events.filter((e) => e.type === "pull").at(-1)).toMatchObject({
      ref,
      status: "pulled",
      detail: "Image is up to date",
    });
    // Without --json, off a terminal: the pull's start and end, one line each, on stderr.
    const human = await runCli(["web", "--image", ref, "--pull", "always", ...stackArgs(stack)], {
      cwd: stack.dir,
      env: { DOCKER_CONFIG: registry.dockerConfig() },
    });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toBe("");
    expect(human.stderr.split("\n").filter((l) => l.includes(ref))).toEqual([
      expect.stringMatching(
        new RegExp(`^\\[ *[\\d.]+s\\] pulling ${escapeRe(ref)} from ${escapeRe(registry.host)}$`),
      ),
      expect.stringMatching(
        new RegExp(`^\\[ *[\\d.]+s\\] pulled ${escapeRe(ref)} in [\\d.]+s \\(Image is up to date`),
      ),
      expect.stringMatching(/already runs/),
      // The rollout wrote the ref back earlier; compose-roll says the files already name it.
      expect.stringMatching(/compose: already says WEB_IMAGE=/),
    ]);
    const alwaysWrong = await roll(ref, registry.dockerConfig("not-the-password"), ["--pull", "always"]);
    expect(alwaysWrong.code, alwaysWrong.stderr).toBe(2);
    expect(alwaysWrong.stderr).toMatch(/rejected the credentials/);
    expect(await ids()).toEqual(before);
  });
});
