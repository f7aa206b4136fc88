// The Swarm testbed itself (scripts/swarm-testbed): three managers, a stack deployed from the
// registry by digest serving through Traefik's Swarm provider, and a cut node noticed by Swarm.
// One stack shared by the cases; the testbed is up for the run (test/swarm/setup.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cutNode,
  deployStack,
  dockerOn,
  nodes,
  restoreNode,
  runningTasks,
  type SwarmStack,
  type Testbed,
  testbedEnv,
  waitFor,
  waitForServers,
} from "../support/swarm.js";

let tb: Testbed;
let stack: SwarmStack;

beforeAll(async () => {
  tb = await testbedEnv();
  stack = await deployStack(tb, { name: "testbed", replicas: 3 });
});

afterAll(async () => {
  await stack?.rm();
});

async function answers(url: string, n: number): Promise<{ release: string; hostname: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, { headers: { connection: "close" } });
    expect(res.status).toBe(200);
    out.push((await res.json()) as { release: string; hostname: string });
  }
  return out;
}

describe("the Swarm testbed", () => {
  it("has three managers, all Ready, one of them the leader", async () => {
    const list = await nodes(tb);
    expect(list.map((x) => x.n).sort()).toEqual([1, 2, 3]);
    expect(list.every((x) => x.status === "Ready")).toBe(true);
    expect(list.map((x) => x.manager).sort()).toEqual(["Leader", "Reachable", "Reachable"]);
  });

  it("serves a stack deployed from its registry, pinned by digest, through Traefik at both polls", async () => {
    const spec = await dockerOn(tb, 1, [
      "service",
      "inspect",
      stack.service,
      "--format",
      "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
    ]);
    expect(spec).toMatch(new RegExp(`^${tb.registry}/compose-roll-demo/app:v1@sha256:[0-9a-f]{64}$`));
    const tasks = await runningTasks(tb, stack.service);
    expect(new Set(tasks.map((t) => t.node)).size).toBe(3); // Swarm spreads them over the nodes
    for (const poll of [15, 1] as const) {
      const seen = await answers(stack.url(poll), 12);
      expect(new Set(seen.map((x) => x.release))).toEqual(new Set(["v1"]));
      expect(new Set(seen.map((x) => x.hostname)).size).toBe(3); // every task, on every node, answers
    }
  });

  it("notices a cut node: Down, its task rescheduled, Ready again once its link is back", async () => {
    const list = await nodes(tb);
    const victim = list.find((x) => x.n === 3);
    if (!victim) throw new Error("no node3");
    await cutNode(tb, 3);
    try {
      await waitFor(
        90_000,
        "node3 Down",
        async () => (await nodes(tb)).find((x) => x.n === 3)?.status === "Down",
      );
      await waitFor(90_000, "3 running tasks, none on node3", async () => {
        const tasks = await runningTasks(tb, stack.service);
        return tasks.length === 3 && tasks.every((t) => t.node !== victim.id);
      });
      await waitForServers(stack.api(1), `${stack.name}-web`, 3);
      const seen = await answers(stack.url(1), 6);
      expect(new Set(seen.map((x) => x.release))).toEqual(new Set(["v1"]));
    } finally {
      await restoreNode(tb, 3);
    }
    await waitFor(
      90_000,
      "node3 Ready again",
      async () => (await nodes(tb)).find((x) => x.n === 3)?.status === "Ready",
    );
  });
});
