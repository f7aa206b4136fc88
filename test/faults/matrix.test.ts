// `npm run faults`: the whole fault matrix on one stack, case after case, then docs/faults.json
// (merged: a partial run replaces only its rows) and docs/faults.md regenerated from it.
// FAULTS_ONLY=id,id runs some (FAULTS_ONLY=none: only the page); gated cases (the daemon
// restart) need their variable set to 1.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASES } from "./cases.js";
import { type FaultStack, startFaultStack } from "./harness.js";
import { RESULTS, type Row, runCase, saveRows } from "./matrix.js";
import { render } from "./report.js";

const only = process.env.FAULTS_ONLY?.split(",").map((s) => s.trim());
const selected = CASES.filter(
  (c) => (only ? only.includes(c.id) : true) && (!c.gate || process.env[c.gate] === "1"),
);
let fs: FaultStack;
const rows: Row[] = [];

beforeAll(async () => {
  if (selected.length > 0) fs = await startFaultStack("faults");
});
/** docs/faults.json with this run's rows merged in, and docs/faults.md rendered from it. */
function regenerate(): string {
  const page = render(saveRows(rows, CASES), CASES);
  writeFileSync(join(RESULTS, "../faults.md"), page);
  return page;
}

afterAll(async () => {
  await fs?.down();
  // Always regenerated, so `FAULTS_ONLY=none npm run faults` just rewrites the page.
  regenerate();
});

describe("faults during a rollout under load", () => {
  if (selected.length === 0)
    it("no case selected: docs/faults.md is regenerated, one row per case", () => {
      const page = regenerate();
      for (const c of CASES) expect(page).toMatch(new RegExp(`^\\| ${c.id} \\|`, "m"));
    });
  for (const c of selected) {
    it(c.id, async () => {
      const row = await runCase(fs, c);
      rows.push(row);
      // Saved as each case ends: a run cut short still keeps the rows it produced.
      regenerate();
      expect(row.why).toEqual([]);
    });
  }
});
