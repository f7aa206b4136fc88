// `compose-roll web` with no --image: the service rolls to what the compose files say now —
// an edited tag, an environment variable, deploy.replicas — under load with 0 failed requests,
// and compose agrees afterwards (`up -d --dry-run` plans nothing, `up -d` recreates nothing).
// In label mode too, where a change of Traefik labels is refused before anything changes.
// Real engine, compose and Traefik; one stack per routing mode, brought up side by side.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe } from "../load/probe.js";
import { runCli } from "../support/cli.js";
import { composeOn } from "../support/compose.js";
import { type LabelsStack, labelsArgs, waitForServers } from "../support/labels-stack.js";
import { type DemoOptions, type DemoStack, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

const app = (tag: string) => `compose-roll-demo/app:${tag}`;
const docker = new Docker();
type Stack = DemoStack | LabelsStack;

async function web(stack: Stack) {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${stack.project}`, "com.docker.compose.service=web"] },
  });
  return list.sort((a, b) => a.Id.localeCompare(b.Id));
}

/** Edits web's part of compose.yaml, the way a user would before running the tool. */
function edit(stack: Stack, from: string | RegExp, to: string) {
  const file = join(stack.dir, "compose.yaml");
  const text = readFileSync(file, "utf8");
  const next = text.replace(from, to);
  expect(next, `no ${from} in compose.yaml`).not.toBe(text);
  writeFileSync(file, next);
}

/** compose-roll under load: every request through Traefik counted. */
async function roll(stack: Stack, args: string[], flags: string[]) {
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 180, slowMs: 1000 }).start();
  const run = await runCli([...args, ...flags], { cwd: stack.dir, env: stack.composeEnv });
  const load = await probe.stop();
  console.log(`${args.join(" ")}: exit ${run.code}; ${formatReport(load)}`);
  expect(run.code, run.stderr).toBe(0);
  expectNoneFailed(load);
  expect(load.sent).toBeGreaterThan(0);
  return run;
}

/** Compose itself sees nothing to do for web: no recreate planned, none done. */
async function expectComposeAgrees(stack: Stack, n: number) {
  const before = (await web(stack)).map((c) => c.Id);
  expect(before).toHaveLength(n);
  const plan = await composeOn(stack, ["up", "-d", "--dry-run", "--no-deps", "web"]);
  const lines = plan.split("\n").filter((l) => /-web-\d/.test(l));
  expect(lines, plan).toHaveLength(n);
  for (const l of lines) expect(l, plan).toMatch(/Container \S+-web-\d+\s+Running/);
  await composeOn(stack, ["up", "-d", "--no-deps", "web"]);
  expect((await web(stack)).map((c) => c.Id)).toEqual(before);
}

/**
 * A healthcheck patient enough for the shared testbed (load averages of 40-60: a 3 s probe
 * fails, and healthy containers turned unhealthy mid-rollout even at PATIENT_HEALTH's 6 s × 3).
 * Label mode keeps the drain file and a 1 s interval: its drains wait for unhealthy.
 */
function patient(test: string, interval: string, retries: number): DemoOptions {
  return {
    files: ["compose.yaml", "compose.override.yaml"],
    prepare: (dir) =>
      writeFileSync(
        join(dir, "compose.override.yaml"),
        ["services:", "  web:", "    healthcheck:", `      test: ${test}`, `      interval: ${interval}`]
          .concat(["      timeout: 10s", `      retries: ${retries}`, "      start_period: 60s", ""])
          .join("\n"),
      ),
  };
}

async function patientLabelsDemo(name: string): Promise<LabelsStack> {
  const drainCheck = '["CMD-SHELL", "test ! -f /tmp/drain && python3 /app/healthcheck.py"]';
  const options = { example: "demo-labels", ...patient(drainCheck, "1s", 3) };
  const { traefikFile: _none, ...demo } = await startDemo(name, {}, options);
  const stack = { ...demo, traefikService: `web-${demo.project.replace(/[^a-zA-Z0-9]+/g, "-")}@docker` };
  await waitForServers(stack, 3);
  return stack;
}

let files: DemoStack;
let labels: LabelsStack;
beforeAll(async () => {
  // One after the other: two stacks booting at once on the shared testbed's 2 cores is where
  // a healthcheck timed out before any test ran.
  files = await startDemo("cfiles-routed", {}, patient('["CMD", "python3", "/app/healthcheck.py"]', "2s", 5));
  labels = await patientLabelsDemo("clabels-routed");
  const sync = await runCli(["sync", "web", "-p", files.project], { cwd: files.dir, env: files.composeEnv });
  expect(sync.code, sync.stderr).toBe(0);
}, 240_000);
afterAll(async () => {
  await Promise.all([files?.down(), labels?.down()]);
});

describe("file mode", () => {
  const flags = () => ["-p", files.project];

  it("an edited tag in compose.yaml rolls with no --image, 0 failed", async () => {
    edit(files, "image: ${WEB_IMAGE:-compose-roll-demo/app:v1}", `image: ${app("v2")}`);
    await roll(files, ["web"], flags());
    const now = await web(files);
    expect(now.map((c) => c.Image)).toEqual([app("v2"), app("v2"), app("v2")]);
    await expectComposeAgrees(files, 3);
  });

  it("an environment variable rolls too (compose creates the new containers), and compose agrees after", async () => {
    const old = (await web(files)).map((c) => c.Id);
    // examples/minimal's web already has an environment (BOOT_DELAY): one more variable in it.
    edit(
      files,
      "      BOOT_DELAY: ${DEMO_BOOT_DELAY:-2}",
      "      BOOT_DELAY: ${DEMO_BOOT_DELAY:-2}\n      RELEASE_NOTE: env-change",
    );
    const run = await roll(files, ["web"], flags());
    expect(run.stderr).toMatch(
      /configuration in the compose files differs .* compose creates the new containers/,
    );
    const now = await web(files);
    expect(now.map((c) => c.Id).filter((id) => old.includes(id))).toEqual([]);
    const env = await docker.getContainer(now[0]?.Id as string).inspect();
    expect(env.Config.Env).toContain("RELEASE_NOTE=env-change");
    await expectComposeAgrees(files, 3);
  });

  it("run again with nothing changed: one line, exit 0, no container touched", async () => {
    const ids = (await web(files)).map((c) => c.Id);
    const run = await runCli(["web", ...flags()], { cwd: files.dir, env: files.composeEnv });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /web already runs compose-roll-demo\/app:v2 as the compose files describe it, 3 replicas; nothing to do/,
    );
    expect((await web(files)).map((c) => c.Id)).toEqual(ids);
  });

  it("scales 3 → 5 (--scale) → 2 (deploy.replicas) under load, 0 failed", async () => {
    await roll(files, ["web", "--scale", "web=5"], flags());
    expect(await web(files)).toHaveLength(5);
    edit(files, "replicas: 3", "replicas: 2");
    await roll(files, ["web"], flags());
    expect(await web(files)).toHaveLength(2);
    await expectComposeAgrees(files, 2);
  });
});

describe("label mode", () => {
  const flags = () => labelsArgs(labels);

  it("an edited tag and an environment variable roll with no --image, 0 failed", async () => {
    edit(labels, "image: ${WEB_IMAGE:-compose-roll-demo/app:v1}", `image: ${app("v2")}`);
    // The demo's web shares the app's environment (a YAML anchor): one more variable beside it.
    edit(
      labels,
      "    environment: *app-environment",
      "    environment:\n      <<: *app-environment\n      RELEASE_NOTE: labels",
    );
    await roll(labels, ["web"], flags());
    expect((await web(labels)).map((c) => c.Image)).toEqual([app("v2"), app("v2"), app("v2")]);
    await waitForServers(labels, 3);
    await expectComposeAgrees(labels, 3);
  });

  it("a change of Traefik labels is refused (exit 2) before anything changes", async () => {
    const ids = (await web(labels)).map((c) => c.Id);
    edit(
      labels,
      "      traefik.http.routers.web.entrypoints: web",
      '      traefik.http.routers.web.entrypoints: web\n      traefik.http.routers.web.priority: "10"',
    );
    const run = await runCli(["web", ...flags()], { cwd: labels.dir, env: labels.composeEnv });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(
      /Traefik labels in the compose files differ .*traefik\.http\.routers\.web\.priority: \(none\) → 10/,
    );
    expect((await web(labels)).map((c) => c.Id)).toEqual(ids);
    await waitForServers(labels, 3);
  });
});
