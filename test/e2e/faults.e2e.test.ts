// The CI share of the fault matrix (test/faults, `npm run faults` for all of it): the cases
// most likely to regress, each judged exactly as the matrix judges it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASES } from "../faults/cases.js";
import { type FaultStack, startFaultStack } from "../faults/harness.js";
import { runCase } from "../faults/matrix.js";

// SIGKILL at step boundaries is revisions.e2e's; SIGTERM and the bad images are rollout.e2e's.
// Every day: three of compose-roll's own fault fixes, a crash while serving (stopped at once),
// a dead old container (replaced, not refused), a full Traefik directory (refused up front).
// Plus one case of the rest of the matrix, a different one each day of the year, so over a
// month CI has run each (FAULTS_CI_CASE=id picks one by hand, e.g. to rerun a day's failure).
const DAILY = ["crash-after-healthy", "old-exited", "disk-full-before"];
const rest = CASES.filter((c) => !DAILY.includes(c.id) && !c.gate);
const day = Math.floor((Date.now() - Date.UTC(new Date().getUTCFullYear(), 0, 0)) / 86_400_000);
const rotating = process.env.FAULTS_CI_CASE ?? rest[day % rest.length]?.id;
const CI = [...DAILY, rotating];
let fs: FaultStack;

beforeAll(async () => {
  fs = await startFaultStack("faults-ci");
});
afterAll(async () => {
  await fs?.down();
});

describe("faults (CI subset)", () => {
  it("runs a case of the matrix that exists", () => {
    expect(rest.map((c) => c.id)).toContain(rotating);
  });
  for (const c of CASES.filter((c) => CI.includes(c.id))) {
    it(c.id, async () => {
      expect((await runCase(fs, c)).why).toEqual([]);
    });
  }
});
