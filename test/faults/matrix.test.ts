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
afterAll(async () => {
  await fs?.down();
  // Always regenerated, so `FAULTS_ONLY=none npm run faults` just rewrites the page.
  const merged = saveRows(rows, CASES);
  writeFileSync(join(RESULTS, "../faults.md"), render(merged, CASES));
});

describe("faults during a rollout under load", () => {
  if (selected.length === 0) it("no case selected: only docs/faults.md is regenerated", () => {});
  for (const c of selected) {
    it(c.id, async () => {
      const row = await runCase(fs, c);
      rows.push(row);
      expect(row.why).toEqual([]);
    });
  }
});
