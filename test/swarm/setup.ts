// vitest globalSetup of the `swarm` project: one testbed for every file of the run, up before the
// first and down after the last (CRSW_KEEP=1 leaves it up for the next run).
import { testbed } from "../support/swarm.js";

export async function setup(): Promise<void> {
  await testbed("up");
}

export async function teardown(): Promise<void> {
  if (!process.env.CRSW_KEEP) await testbed("down");
}
