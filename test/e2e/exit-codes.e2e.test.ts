// The exit codes a rollout ends with when what it depends on fails, each asserted with its
// literal value on the real demo stack: 8 (the post-deploy hook fails after a complete rollout),
// 7 (Traefik gone mid-rollout, so the restore cannot finish; the lock is kept and `repair`
// converges) and 1 (the Docker engine fails a call). 2, 3, 5 and 6 are asserted where their
// causes live (bad-input, revisions, rollout, hooks). Patient healthchecks: an unhealthy
// verdict from the machine's load would turn 8 into 7.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe } from "../load/probe.js";
import { runCli, stackArgs } from "../support/cli.js";
import { expectAllOn, lockStatus } from "../support/expect.js";
import { startFailingEngine } from "../support/fake-engine.js";
import { type DemoStack, PATIENT_HEALTH, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

const docker = new Docker();
const app = (tag: string) => `compose-roll-demo/app:${tag}`;
let stack: DemoStack;

beforeAll(async () => {
  stack = await startDemo("exits", {}, PATIENT_HEALTH);
  const sync = await cli(["sync", "web"]);
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
});

const cli = (args: string[]) => runCli([...args, ...stackArgs(stack)], { cwd: stack.dir });

async function drift(): Promise<string[]> {
  const status = await cli(["status", "web", "--json"]);
  expect(status.code, status.stderr).toBe(0);
  return (JSON.parse(status.stdout) as { drift: string[] }).drift;
}

describe("exit codes a rollout ends with", () => {
  it("8: the post-deploy hook fails after a complete rollout; nothing rolled back, nothing lost", async () => {
    const hook = `python3 -c "import sys; sys.exit('post-deploy check failed')"`;
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
    const roll = await cli(["web", "--image", app("v2"), "--post-deploy", hook, "--json"]);
    const load = await probe.stop();
    console.log(`failing post-deploy hook: exit ${roll.code}; ${formatReport(load)}`);
    expect(roll.code, roll.stderr).toBe(8);
    expect(roll.stderr).toMatch(
      /post-deploy hook .* failed with exit code 1 \(post-deploy check failed\); the rollout itself is complete: web serves compose-roll-demo\/app:v2, nothing was rolled back/,
    );
    expect(roll.events.find((e) => e.type === "done")).toMatchObject({ result: "complete", replicas: 3 });
    expectNoneFailed(load);
    await expectAllOn(stack, app("v2"));
    expect(await lockStatus(stack)).toBeNull();
  });

  it("7: Traefik dies mid-rollout, so the restore cannot finish; the lock is kept and `repair` converges", async () => {
    const traefik = docker.getContainer(`${stack.project}-traefik-1`);
    let killed: Promise<unknown> | undefined;
    const roll = await runCli(
      ["web", "--image", app("v3"), "--route-timeout", "8s", ...stackArgs(stack), "--json"],
      {
        cwd: stack.dir,
        onEvent: (e) => {
          if (e.type === "replica" && e.state === "routed" && !killed) killed = traefik.kill();
        },
      },
    );
    await killed;
    expect(killed, "the rollout never routed a new replica").toBeDefined();
    expect(roll.code, roll.stderr).toBe(7);
    expect(roll.stderr).toMatch(/state now/);
    // The failed restore keeps the lock, naming what a repair goes back to.
    expect(await lockStatus(stack)).toMatchObject({
      target: { ref: app("v3") },
      previous: { ref: app("v2") },
      replicas: 3,
    });
    await traefik.start();
    // Back once its file provider has loaded the service again, not merely answering /ping.
    const service = `${stack.apiUrl}/api/http/services/web@file`;
    await expect
      .poll(async () => (await fetch(service).catch(() => undefined))?.ok, {
        timeout: 120_000,
        interval: 250,
      })
      .toBe(true);
    const repair = await cli(["repair", "web"]);
    expect(repair.code, repair.stderr).toBe(0);
    await expectAllOn(stack, app("v2"));
    expect(await lockStatus(stack)).toBeNull();
    expect(await drift()).toEqual([]);
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 4 }).start();
    await new Promise((r) => setTimeout(r, 4000));
    const report = await probe.stop();
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(new Set(report.samples.map((s) => s.hostname)).size).toBe(3);
  });

  it("1: the Docker engine fails a call (HTTP 500): one line, no stack trace, nothing else", async () => {
    const engine = await startFailingEngine();
    try {
      for (const args of [
        ["status", "web", "-p", stack.project],
        ["web", "--image", app("v3"), ...stackArgs(stack)],
      ]) {
        const r = await runCli(args, { cwd: stack.dir, env: { DOCKER_HOST: engine.host } });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/^compose-roll: Docker: .*injected engine fault\n/);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      // It got past the handshake: the exit is the engine's failure, not a refusal before it.
      expect(engine.calls.filter((c) => !/\/(_ping|version)$/.test(c)).length).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
    await expectAllOn(stack, app("v2"));
  });
});
