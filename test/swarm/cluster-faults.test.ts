// Faults of the cluster around a compose-roll rollout on the 3-manager testbed, under load
// through the 1 s-poll Traefik, with compose-roll talking to node1, which is kept off the
// Raft leadership (it also runs Traefik):
// - the leader's link cut with no rollout (the baseline), then a rollout started as soon as the
//   cut leader is back, while its higher term forces an election;
// - the leader's link cut mid-rollout, once the stand-ins serve beside the service: the managers
//   are leaderless until the other two elect one;
// - the testbed's Traefik restarted while the service is out of Traefik.
// Every failed request must fall inside the fault: the cut (less what was in flight) to Traefik
// dropping the cut node's tasks, or the restart to Traefik routing again. One stack, in order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isFailure, type Sample } from "../load/probe.js";
import {
  appImage,
  cutNode,
  deployStack,
  dockerOn,
  leader,
  leadOff,
  nodes,
  restoreNode,
  runningTasks,
  type SwarmStack,
  settleManagers,
  type Testbed,
  testbedEnv,
  traefikServers,
  waitFor,
  waitForServers,
} from "../support/swarm.js";
import { inspectService, swarmCliUnderLoad, underLoad } from "../support/swarm-cli.js";
import { expectOnlyInside, IN_FLIGHT_S, expectServing as servingOnly } from "../support/swarm-expect.js";

const N = 3;
const POLL = 1;
let tb: Testbed;
let stack: SwarmStack;
let cut: number | undefined;
const lb = () => `${stack.name}-web`;
const probe = () => `${stack.name}-raft-probe`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const since = (t0: number) => (performance.now() - t0) / 1000;

/** A fault's window, in seconds after the load started. */
interface Window {
  from: number;
  to: number;
}

/** Servers Traefik may list for tasks on node `id`: the service's and any stand-in's. */
async function serversOn(id: string): Promise<string[]> {
  const names = [stack.service, ...Array.from({ length: N }, (_, i) => `${stack.service}-standin-${i + 1}`)];
  const tasks = (await Promise.all(names.map((s) => runningTasks(tb, s).catch(() => [])))).flat();
  return tasks.filter((t) => t.node === id).map((t) => `http://${t.address}:8000`);
}

/** Cuts the leader (never node1); resolves once a leader is back and Traefik lists none of its tasks. */
async function cutLeader(t0: number): Promise<Window> {
  const l = await leader(tb);
  if (!l || l.n === 1) throw new Error(`the leader is ${l ? "node1" : "unknown"}: it must be node2 or node3`);
  const lost = await serversOn(l.id);
  const from = since(t0);
  cut = l.n;
  await cutNode(tb, l.n);
  await waitFor(240_000, "a new leader, and Traefik listing no task of the cut node", async () => {
    const servers = await traefikServers(stack.api(POLL), lb());
    const now = await leader(tb);
    return servers.length > 0 && !servers.some((u) => lost.includes(u)) && now !== undefined && now.n !== l.n;
  });
  const to = since(t0);
  console.log(
    `leader node${l.n} cut at ${from.toFixed(1)} s (${lost.length} task(s) on it); a new leader and none of its tasks listed by ${to.toFixed(1)} s`,
  );
  return { from, to };
}

/** The cut node back, Ready; its rejoin may force an election, which this does not wait out. */
async function rejoin(): Promise<void> {
  if (cut === undefined) return;
  await restoreNode(tb, cut);
  cut = undefined;
  await waitFor(180_000, "every node Ready", async () =>
    (await nodes(tb)).every((x) => x.status === "Ready"),
  );
}

/** Back to a settled testbed: the cut node back, a leader settled off node1, N tasks listed. */
async function settle(): Promise<void> {
  await rejoin();
  await settleManagers(tb, probe());
  await leadOff(tb, 1, probe());
  await waitFor(
    120_000,
    `${N} running tasks`,
    async () => (await runningTasks(tb, stack.service)).length === N,
  );
  await waitForServers(stack.api(POLL), lb(), N);
}

const expectOnly = (samples: Sample[], w: Window) => expectOnlyInside(samples, w.from, w.to);
const expectServing = (tag: string) => servingOnly(tb, stack, N, tag);

const roll = (tag: string, what: string, onStart?: (t0: number) => void) =>
  swarmCliUnderLoad(tb, stack, ["web", "--image", appImage(tb, tag)], POLL, what, undefined, onStart);

beforeAll(async () => {
  tb = await testbedEnv();
  await leadOff(tb, 1, "swarm7-faults-raft-probe");
  stack = await deployStack(tb, { name: "swarm7-faults", replicas: N });
});

afterAll(async () => {
  await settle().catch(async () => {
    if (cut !== undefined) await restoreNode(tb, cut);
  });
  await stack?.rm();
});

/** How many times compose-roll said it waited for the managers to elect a leader. */
const elections = (stderr: string) =>
  stderr.split("\n").filter((l) => l.includes("the Swarm has no leader")).length;

describe("cluster faults around a rollout", () => {
  let baseline = { failed: 0, sent: 0 };
  /** The tag the service runs once the leader-loss case is over. */
  let serving = "v2";

  it("baseline: the leader cut with no rollout; then a rollout started as it rejoins succeeds", async () => {
    const { result: loss, load } = await underLoad(stack, POLL, async (t0) => {
      await sleep(5000);
      const w = await cutLeader(t0);
      await sleep(3000);
      return w;
    });
    baseline = { failed: load.failed, sent: load.sent };
    console.log(`leader loss, no rollout: ${load.failed} failed of ${load.sent}`);
    expectOnly(load.samples, loss);
    // Back on the bridge: it rejoins with the higher term its lone elections left it, and the
    // managers elect again; the rollout starts into that election, at once.
    await restoreNode(tb, cut as number);
    cut = undefined;
    const { run, load: during } = await roll("v2", "rollout to v2 as the cut leader rejoins");
    console.log(`  compose-roll waited for a leader ${elections(run.stderr)} time(s)`);
    expect(run.code, run.stderr).toBe(0);
    expect(during.failed, JSON.stringify(during.failures.slice(0, 5))).toBe(0);
    await expectServing("v2");
    await settle();
  });

  it("the leader cut mid-rollout: it finishes (or rolls back, exit 5), failing only what the cut fails", async () => {
    let loss: Promise<Window> | undefined;
    let over = false;
    const { run, load } = await roll("v3", "rollout to v3, the leader cut once the stand-ins serve", (t0) => {
      loss = (async () => {
        await waitFor(
          120_000,
          "the stand-ins beside the service in Traefik",
          async () => over || (await traefikServers(stack.api(POLL), lb())).length === 2 * N,
        );
        if (over) throw new Error("the run ended before the stand-ins joined");
        return cutLeader(t0);
      })();
      loss.catch(() => {}); // awaited below, once the run is over
    });
    over = true;
    const w = await (loss as Promise<Window>);
    console.log(`  against the baseline's ${baseline.failed} failed of ${baseline.sent}`);
    console.log(`  compose-roll waited for a leader ${elections(run.stderr)} time(s)`);
    expect([0, 5], run.stderr).toContain(run.code);
    expectOnly(load.samples, w);
    serving = run.code === 0 ? "v3" : "v2";
    await expectServing(serving);
    await settle();
  });

  it("Traefik restarted while the service is out of it: waited out, and the rollout finishes", async () => {
    const tag = serving === "v2" ? "v3" : "v2";
    let restart: Promise<Window & { pingAt: number }> | undefined;
    let over = false;
    const { run, load } = await roll(tag, `rollout to ${tag}, Traefik restarted mid-rollout`, (t0) => {
      restart = (async () => {
        await waitFor(
          120_000,
          "the service out of Traefik",
          async () =>
            over || (await inspectService(tb, stack.service)).Spec.Labels["traefik.enable"] === "false",
        );
        if (over) throw new Error("the run ended before the service left Traefik");
        const from = since(t0);
        await dockerOn(tb, 1, ["restart", tb.traefik["1"].container]);
        await waitFor(
          60_000,
          "Traefik answering /ping",
          async () => (await fetch(`${stack.api(POLL)}/ping`)).ok,
        );
        const pingAt = since(t0);
        await waitFor(
          60_000,
          "Traefik routing the users' balancer",
          async () => (await traefikServers(stack.api(POLL), lb())).length > 0,
        );
        const to = since(t0);
        console.log(
          `Traefik restarted at ${from.toFixed(1)} s: /ping again after ${(pingAt - from).toFixed(1)} s, routing again after ${(to - from).toFixed(1)} s`,
        );
        return { from, to, pingAt };
      })();
      restart.catch(() => {});
    });
    over = true;
    const w = await (restart as Promise<Window>);
    const failed = load.samples.filter(isFailure);
    const inside = failed.filter((s) => s.at >= w.from - IN_FLIGHT_S && s.at <= w.to);
    console.log(
      `  ${failed.length} failed of ${load.sent}, ${inside.length} of them while Traefik was down (${(w.to - w.from).toFixed(1)} s)`,
    );
    expect(run.code, run.stderr).toBe(0);
    expectOnly(load.samples, w);
    await expectServing(tag);
  });
});
