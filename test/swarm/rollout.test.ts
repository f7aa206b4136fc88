// compose-roll rolling a Swarm stack service on the real 3-manager testbed, under load through
// the testbed's Traefik: stand-ins carry the traffic while the service is replaced offline, so
// no request fails at either provider poll; the service ends on the new image with its own labels
// and a one-level rollback that changes nothing, and its compose file names the new image, so a
// `docker stack deploy` of that file restarts nothing; a never-healthy image leaves it untouched.
// One stack of 3 replicas, shared by the cases in order (v1 → v2 at 1 s, broken, v3 interrupted,
// v2 → v3 at 15 s, to the tag edited in the stack file, with its x-compose-roll settings).
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport } from "../load/probe.js";
import {
  appImage,
  deployStack,
  dockerOn,
  type Poll,
  runningTasks,
  type SwarmStack,
  stackFile,
  type Testbed,
  testbedEnv,
  waitFor,
} from "../support/swarm.js";
import {
  inspectService,
  standInsOn,
  storedService,
  swarmCli,
  swarmCliUnderLoad,
  underLoad,
} from "../support/swarm-cli.js";

const N = 3;
let tb: Testbed;
let stack: SwarmStack;

const inspect = () => inspectService(tb, stack.service);
const stored = () => storedService(tb, stack.service);
const standIns = () => standInsOn(tb);

/** compose-roll web --image <tag> against node1's engine, under load through the Traefik polling every `poll` s. */
const roll = (tag: string, poll: Poll, onSpawn?: (pid: number) => void) =>
  swarmCliUnderLoad(tb, stack, ["web", "--image", appImage(tb, tag)], poll, `rollout to ${tag}`, onSpawn);

beforeAll(async () => {
  tb = await testbedEnv();
  stack = await deployStack(tb, { name: "swarm3-roll", replicas: N });
});

afterAll(async () => {
  await stack?.rm();
});

describe("compose-roll on a Swarm stack service", () => {
  let labels: Record<string, string>;

  it("rolls v1 → v2 at the 1 s poll with no failed request; the spec ends on v2 with its own labels", async () => {
    const before = await inspect();
    labels = before.Spec.Labels;
    const { run, load } = await roll("v2", 1);
    expect(run.code, run.stderr).toBe(0);
    expect(load.failed, JSON.stringify(load.failures.slice(0, 5))).toBe(0);
    expect(load.releases).toContain("v2");
    expect(load.lastRelease).toBe("v2");
    const after = await inspect();
    expect(after.Spec.TaskTemplate.ContainerSpec.Image).toMatch(new RegExp(`^${appImage(tb, "v2")}@sha256:`));
    // Its own labels, the stack's image label naming the new ref as `docker stack deploy` would.
    expect(after.Spec.Labels).toEqual({ ...labels, "com.docker.stack.image": appImage(tb, "v2") });
    expect(after.Spec.UpdateConfig).toEqual(before.Spec.UpdateConfig);
    // `docker service rollback` would swap in PreviousSpec: the same spec, so it changes nothing.
    const kept = await stored();
    expect(kept.PreviousSpec).toEqual(kept.Spec);
    expect(await standIns()).toEqual([]);
    const tasks = await runningTasks(tb, stack.service);
    expect(tasks.map((t) => t.image)).toEqual(Array(N).fill(after.Spec.TaskTemplate.ContainerSpec.Image));
  });

  it("the rollout wrote v2 into the stack's compose file; a `docker stack deploy` of it restarts nothing", async () => {
    const ids = (await runningTasks(tb, stack.service)).map((t) => t.id).sort();
    // Only the image scalar changed: the file is the one deployStack wrote, naming v2.
    expect(readFileSync(stack.composeFile, "utf8")).toBe(
      stackFile(tb, { name: stack.name, replicas: N }).replace(appImage(tb, "v1"), appImage(tb, "v2")),
    );
    await dockerOn(tb, 1, ["stack", "deploy", "-c", stack.composeFile, stack.name]);
    await new Promise((r) => setTimeout(r, 5000));
    expect((await runningTasks(tb, stack.service)).map((t) => t.id).sort()).toEqual(ids);
    const after = await inspect();
    expect(after.Spec.Labels).toEqual({ ...labels, "com.docker.stack.image": appImage(tb, "v2") });
    expect(after.Spec.TaskTemplate.ContainerSpec.Image).toMatch(new RegExp(`^${appImage(tb, "v2")}@sha256:`));
  });

  it("a never-healthy image exits 5, leaves the spec version unchanged and fails no request", async () => {
    const before = await inspect();
    const { run, load } = await roll("broken", 1);
    expect(run.code, run.stderr).toBe(5);
    expect(load.failed, JSON.stringify(load.failures.slice(0, 5))).toBe(0);
    expect(load.releases).toEqual(["v2"]);
    expect((await inspect()).Version.Index).toBe(before.Version.Index);
    expect(await standIns()).toEqual([]);
  });

  it("SIGINT while the stand-ins start: exit 5, stand-ins removed, the spec version unchanged, 0 failed", async () => {
    const before = await inspect();
    let interrupted = false;
    const { run, load } = await roll("v3", 1, (pid) => {
      // As soon as a stand-in exists: they take seconds to become healthy, so this lands in that phase.
      void waitFor(60_000, "a stand-in", async () => (await standIns()).length > 0).then(() => {
        interrupted = process.kill(pid, "SIGINT");
      });
    });
    expect(interrupted).toBe(true);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toMatch(/interrupted by SIGINT/);
    expect(load.failed, JSON.stringify(load.failures.slice(0, 5))).toBe(0);
    expect(load.releases).toEqual(["v2"]);
    expect((await inspect()).Version.Index).toBe(before.Version.Index);
    expect(await standIns()).toEqual([]);
  });

  it("rolls v2 → v3 at Traefik's default 15 s poll with no failed request: the tag edited in the stack file, no --image, Traefik named in its x-compose-roll", async () => {
    // The user's workflow: edit the tag, then roll; the settings live in the file, not in flags.
    const file = readFileSync(stack.composeFile, "utf8").replace(appImage(tb, "v2"), appImage(tb, "v3"));
    writeFileSync(
      stack.composeFile,
      `${file}x-compose-roll:\n  traefik-api: ${stack.api(15)}\n  traefik-url: ${stack.url(15)}\n`,
    );
    const { result: run, load, seconds } = await underLoad(stack, 15, () => swarmCli(tb, stack, ["web"]));
    console.log(
      `swarm rollout to the file's v3 at the 15 s poll: exit ${run.code} in ${seconds.toFixed(1)} s; ${formatReport(load)}`,
    );
    expect(run.stderr).toMatch(/rolling \S+_web to \S+:v3, the image \S+compose\.yaml name/);
    expect(run.code, run.stderr).toBe(0);
    expect(load.failed, JSON.stringify(load.failures.slice(0, 5))).toBe(0);
    expect(load.lastRelease).toBe("v3");
    const after = await inspect();
    expect(after.Spec.TaskTemplate.ContainerSpec.Image).toMatch(new RegExp(`^${appImage(tb, "v3")}@sha256:`));
    expect(after.Spec.Labels).toEqual({ ...labels, "com.docker.stack.image": appImage(tb, "v3") });
    const kept = await stored();
    expect(kept.PreviousSpec).toEqual(kept.Spec);
  });
});
