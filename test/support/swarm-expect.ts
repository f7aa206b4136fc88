// Assertions the Swarm fault files make (vitest only): failed requests inside a fault's window,
// and a service ending with N tasks of one image, each listed by Traefik and nothing else.
import { expect } from "vitest";
import { isFailure, type Sample } from "../load/probe.js";
import { appImage, runningTasks, type SwarmStack, type Testbed, traefikServers, waitFor } from "./swarm.js";
import { standInsOn } from "./swarm-cli.js";

/** Requests in flight when a fault began started up to a slow request's 1 s before it. */
export const IN_FLIGHT_S = 2;

/** Every failed request started inside the fault: from `from` (less what was in flight) to `to`, s after the load began. */
export function expectOnlyInside(samples: Sample[], from: number, to: number): void {
  const failed = samples.filter(isFailure);
  const outside = failed.filter((s) => s.at < from - IN_FLIGHT_S || s.at > to);
  expect(outside, JSON.stringify(outside.slice(0, 5))).toEqual([]);
}

/** No stand-in left, and (once Swarm has replaced any task a cut node held) N tasks of `tag` running, exactly those listed. */
export async function expectServing(tb: Testbed, stack: SwarmStack, n: number, tag: string): Promise<void> {
  expect(await standInsOn(tb)).toEqual([]);
  await waitFor(120_000, `${n} tasks of ${tag} running and listed`, async () => {
    const tasks = await runningTasks(tb, stack.service);
    const servers = await traefikServers(stack.api(1), `${stack.name}-web`);
    return (
      tasks.length === n &&
      JSON.stringify(servers.sort()) === JSON.stringify(tasks.map((t) => `http://${t.address}:8000`).sort())
    );
  });
  const tasks = await runningTasks(tb, stack.service);
  expect(tasks.map((t) => t.image.split("@")[0])).toEqual(Array(n).fill(appImage(tb, tag)));
}
