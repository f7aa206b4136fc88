// Compose sees exactly what compose-roll did: after a rollout, an undo and a rollback, the
// project's files name the running image, `docker compose up -d --dry-run` plans nothing for
// the service, `docker compose up -d` keeps every container, and `compose ps` lists exactly
// the N current ones. Real engine, compose and Traefik; ${VAR} and literal images.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe } from "../load/probe.js";
import { runCli, stackArgs } from "../support/cli.js";
import { composeOn } from "../support/compose.js";
import { type DemoStack, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

const app = (tag: string) => `compose-roll-demo/app:${tag}`;
const docker = new Docker();

async function webIds(stack: DemoStack): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${stack.project}`, "com.docker.compose.service=web"] },
  });
  return list.map((c) => c.Id).sort();
}

/** The promise of this feature, checked with compose itself. */
async function expectComposeAgrees(stack: DemoStack, image: string) {
  const ids = await webIds(stack);
  expect(ids).toHaveLength(3);
  const ps = await composeOn(stack, ["ps", "web", "--format", "{{.Name}} {{.Image}}"]);
  const lines = ps.trim().split("\n").sort();
  expect(lines).toHaveLength(3);
  for (const l of lines) expect(l).toMatch(new RegExp(`^${stack.project}-web-[1-6] ${image}$`));
  const plan = await composeOn(stack, ["up", "-d", "--dry-run", "web"]);
  const web = plan.split("\n").filter((l) => /-web-\d/.test(l));
  expect(web, plan).toHaveLength(3);
  for (const l of web) expect(l, plan).toMatch(/Container \S+-web-\d+\s+Running/);
  await composeOn(stack, ["up", "-d", "web"]);
  expect(await webIds(stack)).toEqual(ids);
}

/** `flags`: how compose-roll finds Traefik; the demo's x-compose-roll block needs only -p. */
async function roll(stack: DemoStack, args: string[], flags = stackArgs(stack)) {
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 180, slowMs: 1000 }).start();
  const files = stack.files.flatMap((f) => ["-f", f]);
  const run = await runCli([...args, ...files, ...flags], {
    cwd: stack.dir,
    env: stack.composeEnv,
  });
  const load = await probe.stop();
  console.log(`${args.join(" ")}: exit ${run.code}; ${formatReport(load)}`);
  expectNoneFailed(load);
  return run;
}

describe("image: ${WEB_IMAGE:-...} (the demo): the env file follows the rollouts", () => {
  let stack: DemoStack;
  beforeAll(async () => {
    stack = await startDemo("truthvar");
    // No Traefik flags anywhere in this suite: the demo's x-compose-roll block has them.
    const sync = await runCli(["sync", "web", "-p", stack.project], {
      cwd: stack.dir,
      env: stack.composeEnv,
    });
    expect(sync.code, sync.stderr).toBe(0);
  });
  afterAll(async () => {
    await stack?.down();
  });
  const envFile = () => readFileSync(join(stack.dir, ".env"), "utf8");

  it("--dry-run prints the plan and the diffs, and changes nothing", async () => {
    writeFileSync(join(stack.dir, ".env"), "# deploy settings\nOTHER=1\n");
    const ids = await webIds(stack);
    const files = () =>
      [".env", "compose.yaml", "dynamic/web.yml"].map((f) => readFileSync(join(stack.dir, f)));
    const before = files();
    const run = await runCli(["web", "--image", app("v2"), "--dry-run", "-p", stack.project], {
      cwd: stack.dir,
      env: stack.composeEnv,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/traefik-file\s+\S+dynamic\/web\.yml\s+x-compose-roll \(service web/);
    expect(run.stdout).toMatch(/1\. start \S+-web-4 \(compose-roll-demo\/app:v2\)/);
    expect(run.stdout).toMatch(/take \S+-web-3 \(compose-roll-demo\/app:v1\) out of Traefik/);
    expect(run.stdout).toMatch(/^\+WEB_IMAGE=compose-roll-demo\/app:v2$/m);
    expect(await webIds(stack)).toEqual(ids);
    const after = files();
    for (const [i, b] of before.entries()) expect(after[i]?.equals(b)).toBe(true);
  });

  it("after a rollout, .env names v2 and compose recreates nothing", async () => {
    const run = await roll(stack, ["web", "--image", app("v2")], ["-p", stack.project]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /compose: wrote WEB_IMAGE=compose-roll-demo\/app:v2 in .*\.env; `docker compose up -d` keeps/,
    );
    expect(envFile()).toBe(`# deploy settings\nOTHER=1\nWEB_IMAGE=${app("v2")}\n`);
    await expectComposeAgrees(stack, app("v2"));
  });

  it("a failed rollout leaves the files byte-identical and compose still agrees", async () => {
    const before = envFile();
    const composeFile = readFileSync(join(stack.dir, "compose.yaml"));
    const run = await roll(stack, ["web", "--image", app("crash")], ["-p", stack.project]);
    expect(run.code, run.stderr).toBe(5);
    expect(envFile()).toBe(before);
    expect(readFileSync(join(stack.dir, "compose.yaml")).equals(composeFile)).toBe(true);
    await expectComposeAgrees(stack, app("v2"));
  });

  it("after an undo, .env names v1 again", async () => {
    const run = await roll(stack, ["undo", "web"], ["-p", stack.project]);
    expect(run.code, run.stderr).toBe(0);
    expect(envFile()).toMatch(new RegExp(`^WEB_IMAGE=${app("v1")}$`, "m"));
    await expectComposeAgrees(stack, app("v1"));
  });

  it("--no-write leaves the files alone and says what compose up would do", async () => {
    const before = envFile();
    const run = await roll(stack, ["web", "--image", app("v3"), "--no-write"], ["-p", stack.project]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/--no-write: the files still name compose-roll-demo\/app:v1/);
    expect(envFile()).toBe(before);
  });

  it("refuses, before any change, a compose file compose itself rejects (image: ${X:?})", async () => {
    const ids = await webIds(stack);
    writeFileSync(join(stack.dir, "bad.yml"), "services:\n  web:\n    image: ${NOPE:?set NOPE to the tag}\n");
    const run = await runCli(
      ["web", "--image", app("v3"), "-f", "compose.yaml", "-f", "bad.yml", ...stackArgs(stack)],
      {
        cwd: stack.dir,
        env: stack.composeEnv,
      },
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/set NOPE to the tag/);
    expect(await webIds(stack)).toEqual(ids);
  });
});

describe("a literal image in the second of two -f files", () => {
  let stack: DemoStack;
  const prod = `# production pins\nservices:\n  web:\n    image: ${app("v1")} # set by CI\n`;
  beforeAll(async () => {
    stack = await startDemo(
      "truthlit",
      {},
      {
        files: ["compose.yaml", "prod.yml"],
        prepare: (dir) => writeFileSync(join(dir, "prod.yml"), prod),
      },
    );
    const files = stack.files.flatMap((f) => ["-f", f]);
    const sync = await runCli(["sync", "web", ...files, ...stackArgs(stack)], {
      cwd: stack.dir,
      env: stack.composeEnv,
    });
    expect(sync.code, sync.stderr).toBe(0);
  });
  afterAll(async () => {
    await stack?.down();
  });

  it("rewrites the scalar in prod.yml only, keeping its comments; compose recreates nothing", async () => {
    const base = readFileSync(join(stack.dir, "compose.yaml"), "utf8");
    const run = await roll(stack, ["web", "--image", app("v2")]);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(stack.dir, "prod.yml"), "utf8")).toBe(prod.replace(app("v1"), app("v2")));
    expect(readFileSync(join(stack.dir, "compose.yaml"), "utf8")).toBe(base);
    await expectComposeAgrees(stack, app("v2"));
  });

  it("rolls back a broken image: prod.yml untouched, compose still agrees", async () => {
    const before = readFileSync(join(stack.dir, "prod.yml"), "utf8");
    const run = await roll(stack, ["web", "--image", app("crash")]);
    expect(run.code, run.stderr).toBe(5);
    expect(readFileSync(join(stack.dir, "prod.yml"), "utf8")).toBe(before);
    await expectComposeAgrees(stack, app("v2"));
  });

  it("undo writes v1 back into prod.yml", async () => {
    const run = await roll(stack, ["undo", "web"]);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(stack.dir, "prod.yml"), "utf8")).toBe(prod);
    await expectComposeAgrees(stack, app("v1"));
  });
});
