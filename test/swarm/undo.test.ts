// history, status and undo of a Swarm stack service on the real 3-manager testbed, from the lock
// and revisions kept as Swarm configs: undo with nothing recorded is refused; after a rollout,
// history lists it and status shows it; undo under load through the testbed's Traefik puts the
// previous digest back through the stand-in rollout with no failed request, as a new revision.
// One stack of 2 replicas, shared by the cases in order.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliRun } from "../support/cli.js";
import {
  appImage,
  deployStack,
  dockerOn,
  type SwarmStack,
  type Testbed,
  testbedEnv,
} from "../support/swarm.js";
import {
  inspectService,
  standInsOn,
  storedService,
  swarmCli,
  swarmCliUnderLoad,
} from "../support/swarm-cli.js";

const N = 2;
let tb: Testbed;
let stack: SwarmStack;
/** The image `docker stack deploy` pinned: what undo must put back. */
let v1: string;

const inspect = () => inspectService(tb, stack.service);
const json = (r: CliRun) => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

/** The stack's lock and revision configs, which outlive `docker stack rm`. */
const records = async () =>
  (await dockerOn(tb, 1, ["config", "ls", "-q", "--filter", `label=com.compose-roll.project=${stack.name}`]))
    .split("\n")
    .filter(Boolean);

async function removeRecords(): Promise<void> {
  const ids = await records();
  if (ids.length) await dockerOn(tb, 1, ["config", "rm", ...ids]);
}

beforeAll(async () => {
  tb = await testbedEnv();
  stack = await deployStack(tb, { name: "swarm4-undo", replicas: N });
  await removeRecords();
  v1 = (await inspect()).Spec.TaskTemplate.ContainerSpec.Image;
});

afterAll(async () => {
  if (stack) await removeRecords().catch(() => {});
  await stack?.rm();
});

describe("history, status and undo on a Swarm stack service", () => {
  it("undo with nothing recorded is refused: exit 2, one line, the spec version unchanged", async () => {
    const before = await inspect();
    const r = await swarmCli(tb, stack, ["undo", "web"], 1);
    expect(r.code, r.stderr).toBe(2);
    const said = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("compose-roll:") && !l.includes("is a Swarm"));
    expect(said[0]).toMatch(
      /no earlier image of \S+_web is recorded in the cluster to undo to .*nothing was changed/,
    );
    expect((await inspect()).Version.Index).toBe(before.Version.Index);
    expect(await records()).toEqual([]);
    const h = await swarmCli(tb, stack, ["history", "web"]);
    expect(h.stdout).toBe(`no revisions of ${stack.name}/web recorded in the Swarm\n`);
  });

  it("after a rollout v1 → v2 (a second runner with --wait waits, then finds it done), history lists it by digest and status shows it", async () => {
    // A second pipeline deploying the same tag, started while the first holds the lock.
    let second: ReturnType<typeof swarmCli> | undefined;
    const r = await swarmCli(tb, stack, ["web", "--image", appImage(tb, "v2")], 1, undefined, (err) => {
      if (!second && /stand-in/.test(err))
        second = swarmCli(tb, stack, ["web", "--image", appImage(tb, "v2"), "--wait", "3m"], 1);
    });
    expect(r.code, r.stderr).toBe(0);
    expect(second).toBeDefined();
    const waited = await (second as NonNullable<typeof second>);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stderr).toMatch(/waiting for the lock: web --image \S+:v2 .* by \S+ pid \d+ since /);
    expect(waited.stderr).toMatch(/already runs/);
    // The first run wrote v2 into the file meanwhile: nothing to write, and no warning.
    expect(waited.stderr).not.toMatch(/warning/);
    const v2 = (await inspect()).Spec.TaskTemplate.ContainerSpec.Image;
    expect(v2).toMatch(new RegExp(`^${appImage(tb, "v2")}@sha256:`));

    const h = json(await swarmCli(tb, stack, ["history", "web", "--json"]));
    expect(h.swarmService).toBe(stack.service);
    expect(h.revisions).toHaveLength(1);
    expect(h.revisions[0]).toMatchObject({
      number: 1,
      result: "complete",
      image: { ref: appImage(tb, "v2"), id: v2 },
      previousImage: { id: v1 },
    });
    const table = (await swarmCli(tb, stack, ["history", "web"])).stdout.split("\n");
    expect(table[0]).toMatch(/^REV\s+IMAGE\s+RESULT\s+WHEN\s+BY\s+REPLACED$/);
    expect(table[1]?.split(/\s+/)).toEqual(expect.arrayContaining(["1", v2, "complete", v1]));

    const s = json(await swarmCli(tb, stack, ["status", "web", "--json"]));
    expect(s).toMatchObject({
      mode: "swarm",
      swarmService: stack.service,
      image: v2,
      replicas: N,
      running: N,
      inTraefik: true,
      standIns: [],
      lock: null,
      lastRevision: { number: 1, result: "complete" },
    });
    const text = (await swarmCli(tb, stack, ["status", "web"])).stdout;
    expect(text).toContain(`image: ${v2}\n`);
    expect(text).toContain(`tasks: ${N} of ${N} running\n`);
    expect(text).toContain("lock: free\n");
  });

  it("undo under load at the 1 s poll puts v1's digest back with no failed request, as revision 2", async () => {
    const labels = (await inspect()).Spec.Labels;
    const { run, load } = await swarmCliUnderLoad(tb, stack, ["undo", "web"], 1, "undo to v1");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/undo: rolling \S+ back to \S+ \(the image revision 1 replaced\)/);
    expect(load.failed, JSON.stringify(load.failures.slice(0, 5))).toBe(0);
    expect(load.releases).toContain("v1");
    expect(load.lastRelease).toBe("v1");
    const after = await inspect();
    expect(after.Spec.TaskTemplate.ContainerSpec.Image).toBe(v1);
    // The stack's image label names the tag again, so `docker stack deploy` of a v1 file changes nothing.
    expect(after.Spec.Labels).toEqual({ ...labels, "com.docker.stack.image": appImage(tb, "v1") });
    // The undo wrote the tag back into the stack's compose file.
    expect(readFileSync(stack.composeFile, "utf8")).toContain(`image: ${appImage(tb, "v1")}\n`);
    expect(run.stderr).toMatch(
      /wrote image: \S+:v1 in \S+compose.yaml: `docker stack deploy` of them keeps web on it/,
    );
    const kept = await storedService(tb, stack.service);
    expect(kept.PreviousSpec).toEqual(kept.Spec);
    expect(await standInsOn(tb)).toEqual([]);
    const h = json(await swarmCli(tb, stack, ["history", "web", "--json"]));
    expect(h.revisions.map((r: { number: number }) => r.number)).toEqual([2, 1]);
    expect(h.revisions[0]).toMatchObject({ result: "complete", image: { ref: appImage(tb, "v1"), id: v1 } });
  });
});
