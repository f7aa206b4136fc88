// compose-roll rolling a Swarm stack service of 6 replicas (12 tasks at the peak on 3 nodes)
// under load through the testbed's Traefik, at both provider polls: no request fails, and the
// service ends with 6 tasks of the new image, its stand-ins gone. One stack, shared in order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  appImage,
  deployStack,
  type Poll,
  runningTasks,
  type SwarmStack,
  type Task,
  type Testbed,
  testbedEnv,
  traefikServers,
  waitFor,
} from "../support/swarm.js";
import { standInsOn, swarmCliUnderLoad } from "../support/swarm-cli.js";

const N = 6;
const sameServers = (servers: string[], tasks: Task[]) =>
  JSON.stringify(servers.sort()) === JSON.stringify(tasks.map((t) => `http://${t.address}:8000`).sort());
let tb: Testbed;
let stack: SwarmStack;

beforeAll(async () => {
  tb = await testbedEnv();
  stack = await deployStack(tb, { name: "swarm5-six", replicas: N });
});

afterAll(async () => {
  await stack?.rm();
});

describe(`compose-roll on a Swarm service of ${N} replicas`, () => {
  for (const [tag, poll] of [
    ["v2", 1],
    ["v3", 15],
  ] as [string, Poll][]) {
    it(`rolls to ${tag} at the ${poll} s poll with no failed request`, async () => {
      // The other Traefik watched no earlier rollout: it routes to the tasks of now only after a poll.
      await waitFor(90_000, `Traefik at ${poll} s listing the running tasks`, async () => {
        const tasks = await runningTasks(tb, stack.service);
        const servers = await traefikServers(stack.api(poll), `${stack.name}-web`);
        return sameServers(servers, tasks);
      });
      const { run, load } = await swarmCliUnderLoad(
        tb,
        stack,
        ["web", "--image", appImage(tb, tag)],
        poll,
        `rollout of ${N} to ${tag}`,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(load.failed, JSON.stringify(load.failures.slice(0, 5))).toBe(0);
      expect(load.lastRelease).toBe(tag);
      expect(await standInsOn(tb)).toEqual([]);
      const tasks = await runningTasks(tb, stack.service);
      expect(tasks.map((t) => t.image.split("@")[0])).toEqual(Array(N).fill(appImage(tb, tag)));
      expect(sameServers(await traefikServers(stack.api(poll), `${stack.name}-web`), tasks)).toBe(true);
    });
  }
});
