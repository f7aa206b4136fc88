// The CI share of the fault matrix (test/faults, `npm run faults` for all of it): the cases
// most likely to regress, each judged exactly as the matrix judges it. About 2 minutes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASES } from "../faults/cases.js";
import { type FaultStack, startFaultStack } from "../faults/harness.js";
import { runCase } from "../faults/matrix.js";

// SIGKILL at step boundaries is revisions.e2e's; SIGTERM and the bad images are rollout.e2e's.
const CI = ["crash-after-healthy", "traefik-restart", "old-exited"];
let fs: FaultStack;

beforeAll(async () => {
  fs = await startFaultStack("faults-ci");
});
afterAll(async () => {
  await fs?.down();
});

describe("faults (CI subset)", () => {
  for (const c of CASES.filter((c) => CI.includes(c.id))) {
    it(c.id, async () => {
      expect((await runCase(fs, c)).why).toEqual([]);
    });
  }
});
