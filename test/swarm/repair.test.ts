// `repair` of a Swarm stack service after its rollout is SIGKILLed in each phase, on the real
// 3-manager testbed under load through the 1 s-poll Traefik: the kill lands a moment after the
// CLI says the phase began (checked against what the cluster shows), a rerun of the rollout is
// refused naming repair, `repair --dry-run` shows its steps changing nothing, and repair
// converges — N tasks of the expected image, stand-ins gone, the lock free — with no failed
// request across the kill and the repair.
// One stack of 3 replicas, shared by the cases in order (v1 → v2 killed three times, v2 → v3 once).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliRun } from "../support/cli.js";
import {
  appImage,
  deployStack,
  dockerOn,
  runningTasks,
  type SwarmStack,
  type Testbed,
  testbedEnv,
} from "../support/swarm.js";
import { inspectService, standInsOn, swarmCli, swarmLoad } from "../support/swarm-cli.js";

const N = 3;
let tb: Testbed;
let stack: SwarmStack;

const inspect = () => inspectService(tb, stack.service);
const lockConfigs = async () =>
  (await dockerOn(tb, 1, ["config", "ls", "--format", "{{.Name}}"]))
    .split("\n")
    .filter((n) => n.startsWith(`compose-roll-lock.${stack.name}.`));
/** The stack's lock and revision configs, which outlive `docker stack rm`: removed before and after. */
async function dropRecords() {
  const ids = (
    await dockerOn(tb, 1, ["config", "ls", "-q", "--filter", `label=com.compose-roll.project=${stack.name}`])
  )
    .split("\n")
    .filter(Boolean);
  if (ids.length) await dockerOn(tb, 1, ["config", "rm", ...ids]);
}

/** The rollout to `tag`, SIGKILLed `afterMs` after it says `line`; the load runs on through `then`. */
async function killedThen(
  tag: string,
  line: RegExp,
  afterMs: number,
  then: (killed: CliRun) => Promise<CliRun>,
) {
  const load = swarmLoad(stack, 1);
  const started = performance.now();
  let armed = false;
  const killed = await swarmCli(
    tb,
    stack,
    ["web", "--image", appImage(tb, tag)],
    1,
    undefined,
    (err, kill) => {
      if (armed || !line.test(err)) return;
      armed = true;
      setTimeout(() => kill("SIGKILL"), afterMs);
    },
  );
  const killedAt = (performance.now() - started) / 1000;
  const repaired = await then(killed);
  const report = await load.stop();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `swarm repair after a SIGKILL at ${line.source}: killed after ${killedAt.toFixed(1)} s, repair exit ${repaired.code}, ${seconds.toFixed(1)} s in all; ${report.sent} requests, ${report.failed} failed`,
  );
  console.log(repaired.stderr.trim().split("\n").slice(-3).join("\n"));
  return { killed, repaired, load: report };
}

const repairRun = () => swarmCli(tb, stack, ["repair", "web"], 1);

/** The run was killed, repair exited 0 with no failed request, and the service serves `tag` alone. */
async function repaired(r: Awaited<ReturnType<typeof killedThen>>, tag: string) {
  expect(r.killed.code).toBeNull();
  expect(r.repaired.code, r.repaired.stderr).toBe(0);
  expect(r.load.failed, JSON.stringify(r.load.failures.slice(0, 5))).toBe(0);
  expect(r.load.lastRelease).toBe(tag);
  const image = (await inspect()).Spec.TaskTemplate.ContainerSpec.Image;
  expect(image).toMatch(new RegExp(`^${appImage(tb, tag)}@sha256:`));
  const tasks = await runningTasks(tb, stack.service);
  expect(tasks.map((t) => t.image)).toEqual(Array(N).fill(image));
  expect((await inspect()).Spec.Labels["traefik.enable"]).not.toBe("false");
  expect(await standInsOn(tb)).toEqual([]);
  expect(await lockConfigs()).toEqual([]);
  // The stack's compose file names the image it ended on: the repair wrote it when it finished the
  // killed run; a run sent back left it as it was.
  expect(readFileSync(stack.composeFile, "utf8")).toContain(`image: ${appImage(tb, tag)}\n`);
}

beforeAll(async () => {
  tb = await testbedEnv();
  stack = await deployStack(tb, { name: "swarm6-repair", replicas: N, priority: 1000 });
  await dropRecords();
});

afterAll(async () => {
  await stack?.rm();
  if (stack) await dropRecords();
});

describe("repair of a Swarm rollout SIGKILLed in each phase, under load", () => {
  it("killed while the stand-ins start: repair leaves v1 serving alone, 0 failed", async () => {
    const r = await killedThen("v2", /starting 3 stand-in/, 2000, async () => {
      expect((await standInsOn(tb)).length).toBeGreaterThan(0);
      // The service still serves itself: the rerun finds the lock of a run that is gone.
      const rerun = await swarmCli(tb, stack, ["web", "--image", appImage(tb, "v2")], 1);
      expect(rerun.code, rerun.stderr).toBe(3);
      expect(rerun.stderr).toMatch(/locked by an interrupted rollout .*\n.*compose-roll repair web/);
      return repairRun();
    });
    await repaired(r, "v1");
  });

  it("killed once the service is out of Traefik: a rerun is refused naming repair; repair puts v1 back, 0 failed", async () => {
    const r = await killedThen("v2", /out of Traefik: the stand-ins serve/, 1500, async () => {
      expect((await inspect()).Spec.Labels["traefik.enable"]).toBe("false");
      const rerun = await swarmCli(tb, stack, ["web", "--image", appImage(tb, "v2")], 1);
      expect(rerun.code, rerun.stderr).toBe(2);
      expect(rerun.stderr).toMatch(/out of Traefik and 3 stand-in\(s\) a killed rollout left/);
      expect(rerun.stderr).toMatch(/compose-roll repair web/);
      // repair --dry-run: the steps repair then takes, from what this kill left, nothing changed.
      const before = [(await inspect()).Version.Index, await standInsOn(tb), await lockConfigs()];
      const plan = await swarmCli(tb, stack, ["repair", "web", "--dry-run"], 1);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(/^dry run: nothing was changed/);
      expect(plan.stdout).toMatch(/repair: the service on .*:v1@sha256:\w+, 3 replica\(s\), 6 tasks at peak/);
      expect(plan.stdout).toMatch(
        / {2}1\. take over the lock of the interrupted web --image .*pid \d+ is no longer running/,
      );
      expect(plan.stdout).toMatch(/ {2}2\. update .*_web on .*:v1@sha256:\w+ while out of Traefik/);
      expect(plan.stdout).toMatch(/lock: held — .*\(gone \(.*\): repair takes it over\)/);
      const json = await swarmCli(tb, stack, ["repair", "web", "--dry-run", "--json"], 1);
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ type: "plan", replicas: 3, peakTasks: 6 });
      expect([(await inspect()).Version.Index, await standInsOn(tb), await lockConfigs()]).toEqual(before);
      return repairRun();
    });
    await repaired(r, "v1");
  });

  it("killed while the service is replaced offline: repair finishes on v2, 0 failed", async () => {
    const r = await killedThen("v2", /updating .* while the stand-ins serve/, 1500, async () => {
      expect((await inspect()).Spec.TaskTemplate.ContainerSpec.Image).toMatch(/:v2@sha256:/);
      return repairRun();
    });
    await repaired(r, "v2");
  });

  it("killed while the stand-ins retire: repair finishes on v3, 0 failed", async () => {
    const r = await killedThen("v3", /retiring the stand-ins/, 800, async () => {
      expect((await standInsOn(tb)).length).toBeGreaterThan(0);
      return repairRun();
    });
    await repaired(r, "v3");
  });

  it("history and undo --dry-run need no service name when the stack routes one service", async () => {
    const history = await swarmCli(tb, stack, ["history", "--json"]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/"revisions"/);
    const revs = JSON.parse(history.stdout).revisions as { result: string; reason?: string }[];
    expect(revs.map((r) => r.result)).toEqual(["complete", "complete", "rolled-back", "rolled-back"]);
    expect(revs[0]?.reason).toMatch(/^repaired after an interrupted web --image/);
    const before = (await inspect()).Version.Index;
    const plan = await swarmCli(tb, stack, ["undo", "--dry-run", "--json"], 1);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ type: "plan", image: { ref: appImage(tb, "v2") } });
    expect((await inspect()).Version.Index).toBe(before);
  });
});
