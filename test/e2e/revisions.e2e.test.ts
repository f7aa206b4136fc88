// Revisions, undo, the lock and crash recovery against the real engine, Traefik and app.
// The tests run in order on one stack: each leaves it converged for the next.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rolloutSteps } from "../faults/steps.js";
import { formatReport, LoadProbe } from "../load/probe.js";
import { type CliRun, containers, runCli, stackArgs } from "../support/cli.js";
import { type DemoStack, PATIENT_HEALTH, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

let stack: DemoStack;
const app = (tag: string) => `compose-roll-demo/app:${tag}`;

beforeAll(async () => {
  // Patient health: at load averages of 20+ a healthy replica failed the image's 3 s probe mid-undo.
  stack = await startDemo("rev", {}, PATIENT_HEALTH);
  const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
});

async function roll(tag: string, extra: string[] = [], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(["web", "--image", app(tag), ...stackArgs(stack), ...extra], { cwd: stack.dir, env });
}

async function history(): Promise<{ number: number; image: { ref: string }; result: string }[]> {
  const run = await runCli(["history", "web", "-p", stack.project, "--json"], { cwd: stack.dir });
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout).revisions;
}

/** Converged: 3 healthy containers on one image, exactly they in Traefik, no lock, no drift. */
async function expectConverged(image: string) {
  const cs = await containers(stack.project);
  expect(cs.map((c) => `${c.image} ${c.state} ${c.health}`)).toEqual(
    Array(3).fill(`${image} running healthy`),
  );
  const st = await runCli(["status", "web", "-p", stack.project, "--json"], { cwd: stack.dir });
  expect(st.code, st.stderr).toBe(0);
  const status = JSON.parse(st.stdout);
  expect(status.drift).toEqual([]);
  expect(status.lock).toBeNull();
  expect(status.routed).toHaveLength(3);
}

describe("history and undo", () => {
  it("records revisions across v1 → v2 → v3, starting with what the first rollout found", async () => {
    expect((await roll("v2")).code).toBe(0);
    expect((await roll("v3")).code).toBe(0);
    const revs = await history();
    expect(revs.map((r) => `${r.number} ${r.image.ref} ${r.result}`)).toEqual([
      `3 ${app("v3")} complete`,
      `2 ${app("v2")} complete`,
      `1 ${app("v1")} complete`,
    ]);
    await expectConverged(app("v3"));
  });

  it("undoes back to v2 as a new revision, with 0 failed requests under load", async () => {
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 180, slowMs: 2000 }).start();
    const run = await runCli(["undo", "web", ...stackArgs(stack)], { cwd: stack.dir });
    const load = await probe.stop();
    console.log(`undo v3 → v2: exit ${run.code}; ${formatReport(load)}`);
    expect(run.code, run.stderr).toBe(0);
    expectNoneFailed(load);
    expect(load.lastRelease).toBe("v2");
    expect((await history())[0]).toMatchObject({ number: 4, image: { ref: app("v2") }, result: "complete" });
    await expectConverged(app("v2"));
  });

  it("undoes from another directory and HOME with no local files, knowing only the project", async () => {
    const bare = mkdtempSync(join(tmpdir(), "cr-bare-"));
    const run = await runCli(["undo", "-p", stack.project], { cwd: bare, env: { HOME: bare } });
    expect(run.code, run.stderr).toBe(0);
    // Before: rev 4 = v2 (current), rev 3 = v3. Undo goes to the previous revision's image.
    expect((await history())[0]).toMatchObject({ number: 5, image: { ref: app("v3") } });
    await expectConverged(app("v3"));
  });
});

describe("the lock", () => {
  it("lets exactly one of two concurrent rollouts run; the other exits 3 naming the holder", async () => {
    const [a, b] = await Promise.all([roll("v1"), roll("v1")]);
    expect([a.code, b.code].sort()).toEqual([0, 3]);
    const loser = a.code === 3 ? a : b;
    expect(loser.stderr).toMatch(/is locked: roll --image compose-roll-demo\/app:v1 by .+@.+ pid \d+ since/);
    await expectConverged(app("v1"));
  });
});

describe("crash recovery", () => {
  // The steps of a rollout of 3, as the decision core names them (start, await-health, then a
  // route that retires an old one, per replica). Odd k: rerun the same command (finishes the
  // rollout); even k: `repair` (back to the previous image). `npm test` kills before steps 3
  // (a rerun after a healthy, unrouted new container) and 4 (a repair while an old container
  // drains in the background); `npm run test:full` and the fault matrix before every step.
  const steps = rolloutSteps(3);
  const kills = process.env.COMPOSE_ROLL_E2E_FULL ? steps.map((_, i) => i + 1) : [3, 4];
  for (const k of kills) {
    it(`converges after SIGKILL before step ${k} (${steps[k - 1]?.label}), with 0 failed requests`, async () => {
      const before = (await containers(stack.project))[0]?.image as string;
      const target = before === app("v1") ? app("v2") : app("v1");
      const tag = target.split(":")[1] as string;
      const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 180, slowMs: 1000 }).start();
      const killed = await roll(tag, [], { COMPOSE_ROLL_TEST_KILL_AT_STEP: String(k) });
      expect(killed.code, killed.stderr).toBeNull(); // killed by the signal
      const again =
        k % 2 === 1
          ? await roll(tag)
          : await runCli(["repair", "web", ...stackArgs(stack)], { cwd: stack.dir });
      const load = await probe.stop();
      console.log(
        `kill before step ${k}, then ${k % 2 ? "rerun" : "repair"}: exit ${again.code}; ${formatReport(load)}`,
      );
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/taking over a stale lock/);
      expectNoneFailed(load);
      await expectConverged(k % 2 === 1 ? target : before);
    });
  }
});
