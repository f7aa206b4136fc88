// The benchmark on a real 3-manager Swarm (`npm run bench -- --swarm`; scripts/swarm-testbed, which
// run.ts brings up before and down after): the demo app as a stack of 3 replicas, deployed from
// the testbed's registry, behind Traefik's Swarm provider polling every 15 s (its default) or 1 s,
// with the same healthcheck (drain file, 1 s interval, 10 s timeout, 3 retries) and stop grace
// as examples/demo-labels. The load goes to Traefik's published port on node1 from this machine.
//
// The baselines compose-roll's Swarm engine is measured against:
// - Swarm's own `docker service update --image` as users get it: stop-first, parallelism 1,
//   Traefik's 15 s poll;
// - start-first at 15 s and at 1 s (the fairest setting a user could pick: the provider's 2 s
//   throttle is its floor);
// - a node lost with no rollout at all (its link cut, 1 s poll): what users lose until Swarm
//   reschedules its task and Traefik drops it; the "rollout" is the time until Traefik lists N
//   servers again, none on the cut node.
// compose-roll runs as users run it (the built bin, DOCKER_HOST = node1's socket) at both polls.
// Peak tasks: the most tasks Swarm reports running at once, the service's and its stand-ins'.
import { dirname } from "node:path";
import {
  cutNode,
  deployStack,
  dockerOn,
  nodes,
  type Poll,
  restoreNode,
  runningTasks,
  type Testbed,
  testbedEnv,
  traefikServers,
  waitFor,
} from "../test/support/swarm.js";
import type { Stack, StackOptions } from "./stacks.js";
import { cli, type Strategy } from "./strategies.js";

let testbedCache: Testbed | undefined;
const env = async () => {
  testbedCache ??= await testbedEnv();
  return testbedCache;
};
/** The cut node of the running node-loss run, restored by the stack's down(). */
let cut: number | undefined;

/** The Swarm service's name: `docker service update` takes it. */
export const swarmService = (stack: Stack) => `${stack.project}_web`;

export async function swarmUp(opts: StackOptions): Promise<Stack> {
  const tb = await env();
  const poll: Poll = opts.swarmRefreshS === 1 ? 1 : 15;
  const s = await deployStack(tb, { name: "bench", replicas: opts.replicas, tag: tagOf(opts.image) });
  return {
    dir: dirname(s.composeFile),
    project: s.name,
    routing: "swarm",
    replicas: opts.replicas,
    env: { DOCKER_HOST: `unix://${tb.sockets[0]}` },
    httpUrl: s.url(poll),
    apiUrl: s.api(poll),
    compose: () => Promise.reject(new Error("a Swarm stack has no compose project")),
    tasks: () => tasksOf(tb, s.service),
    down: async () => {
      if (cut !== undefined) {
        const n = cut;
        cut = undefined;
        await restoreNode(tb, n);
        await waitFor(120_000, `node${n} Ready again`, async () =>
          (await nodes(tb)).every((x) => x.status === "Ready"),
        );
      }
      await s.rm();
    },
  };
}

/** Running tasks of `service` and of its stand-ins (`<service>-standin-<k>`), as `docker service ls` counts them. */
async function tasksOf(tb: Testbed, service: string): Promise<number> {
  const out = await dockerOn(tb, 1, ["service", "ls", "--format", "{{.Name}} {{.Replicas}}"]);
  let n = 0;
  for (const line of out.split("\n")) {
    const [name, replicas] = line.split(" ");
    if (name === service || name?.startsWith(`${service}-standin-`))
      n += Number(replicas?.split("/")[0] ?? 0);
  }
  return n;
}

const tagOf = (image: string | undefined) => image?.split(":").at(-1) ?? "v1";

/** `docker service update --image` (Swarm's rolling update), waiting until Swarm says it converged. */
function swarmUpdate(name: string, poll: Poll, extra: string[]): Strategy {
  return {
    name,
    routing: "swarm",
    stack: { swarmRefreshS: poll },
    async roll(stack, to) {
      const tb = await env();
      await dockerOn(tb, 1, [
        "service",
        "update",
        "--detach=false",
        "--quiet",
        ...extra,
        "--image",
        `${tb.registry}/${to}`,
        swarmService(stack),
      ]);
      const state = await dockerOn(tb, 1, [
        "service",
        "inspect",
        "-f",
        "{{.UpdateStatus.State}}",
        swarmService(stack),
      ]);
      return state === "completed" ? { ok: true } : { ok: false, detail: `update ${state}` };
    },
  };
}

/** compose-roll web --image <registry>/<to>, Traefik's API and entrypoint at the stack's poll. */
function composeRoll(poll: Poll): Strategy {
  return {
    name: `compose-roll (${poll} s poll)`,
    routing: "swarm",
    stack: { swarmRefreshS: poll },
    async roll(stack, to) {
      const tb = await env();
      const res = await cli(stack, [
        "web",
        "--image",
        `${tb.registry}/${to}`,
        "-f",
        `${stack.dir}/compose.yaml`,
      ]);
      return {
        ok: res.code === 0,
        ...(res.rss_mb ? { rss_mb: res.rss_mb } : {}),
        ...(res.code === 0 ? {} : { detail: res.stderr.trim().split("\n").slice(-3).join(" | ") }),
      };
    },
  };
}

/**
 * No rollout: cuts the link of a node that runs one of the tasks (never node1, which publishes
 * Traefik), then waits until Traefik lists N servers again, none of them on the cut node.
 */
const nodeLoss: Strategy = {
  name: "node loss, no rollout (1 s poll)",
  routing: "swarm",
  stack: { swarmRefreshS: 1 },
  async roll(stack) {
    const tb = await env();
    const list = await nodes(tb);
    const tasks = await runningTasks(tb, swarmService(stack));
    const victim = list.find((x) => x.n !== 1 && tasks.some((t) => t.node === x.id));
    if (!victim) return { ok: false, detail: "no task on node2 or node3 to lose" };
    const lost = tasks.filter((t) => t.node === victim.id).map((t) => `http://${t.address}:8000`);
    cut = victim.n;
    await cutNode(tb, victim.n);
    await waitFor(180_000, "Traefik listing N servers, none on the cut node", async () => {
      const servers = await traefikServers(stack.apiUrl, `${stack.project}-web`);
      return servers.length === stack.replicas && !servers.some((u) => lost.includes(u));
    });
    return { ok: true, detail: `node${victim.n} cut` };
  },
};

export const SWARM_STRATEGIES: Strategy[] = [
  swarmUpdate("swarm stop-first (15 s poll)", 15, []),
  swarmUpdate("swarm start-first (15 s poll)", 15, ["--update-order", "start-first"]),
  swarmUpdate("swarm start-first (1 s poll)", 1, ["--update-order", "start-first"]),
  composeRoll(15),
  composeRoll(1),
  nodeLoss,
];
