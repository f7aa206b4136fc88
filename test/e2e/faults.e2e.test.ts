// The CI share of the fault matrix (test/faults, `npm run faults` for all of it): the cases
// most likely to regress, each judged exactly as the matrix judges it. ~2.5 minutes here,
// under a load average of 50.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASES } from "../faults/cases.js";
import { type FaultStack, startFaultStack } from "../faults/harness.js";
import { runCase } from "../faults/matrix.js";

// SIGKILL at step boundaries is revisions.e2e's; SIGTERM and the bad images are rollout.e2e's.
// Three of compose-roll's own fault fixes: a crash while serving (stopped at once), a dead old
// container (replaced, not refused), a full Traefik directory (refused up front). The exit-7
// cases (API, directory or ssh gone for good, then repair) take ~70 s each: matrix only.
const CI = ["crash-after-healthy", "old-exited", "disk-full-before"];
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
