import { describe, expect, it } from "vitest";
import type { Revision, RevisionResult } from "../controller/ports.js";
import { DEFAULT_KEEP, toPrune } from "./prune.js";

function rev(number: number, result: RevisionResult = "complete", previous: number | undefined = number - 1) {
  const r: Revision = {
    number,
    image: { ref: `app:${number}`, id: `sha256:${number}` },
    by: { user: "u", host: "h", pid: 1 },
    at: new Date(number * 1000).toISOString(),
    result,
  };
  if (previous !== undefined && previous > 0) r.previous = previous;
  return r;
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => rev(from + i));

describe("toPrune", () => {
  it("drops the oldest beyond keep, oldest first, whatever order they come in", () => {
    expect(toPrune(range(1, 12).reverse(), 10)).toEqual([1, 2]);
    expect(toPrune(range(1, 12), 10)).toEqual([1, 2]);
    expect(toPrune(range(1, 10), 10)).toEqual([]);
    expect(toPrune([], 10)).toEqual([]);
  });

  it("defaults to 10 and treats keep below 1 as 1", () => {
    expect(DEFAULT_KEEP).toBe(10);
    expect(toPrune(range(1, 11))).toEqual([1]);
    expect(toPrune(range(1, 3), 0)).toEqual([1]); // 2 stays: 3 names it as previous
    expect(toPrune(range(1, 3), Number.NaN)).toEqual([]);
  });

  it("keeps the newest complete revision and what it replaced after failed rollouts", () => {
    // 5 serves; 6..8 failed or rolled back, each naming 5 as what it replaced.
    const revs = [...range(1, 5), rev(6, "failed", 5), rev(7, "rolled-back", 5), rev(8, "failed", 5)];
    expect(toPrune(revs, 2)).toEqual([1, 2, 3, 6]);
  });

  it("keeps the revision undo needs even when it is far back", () => {
    // Whatever the newest names as previous is kept, however old (here 4..11 were replaced).
    const revs = [...range(1, 11), rev(12, "complete", 3)];
    expect(toPrune(revs, 3)).toEqual([1, 2, 4, 5, 6, 7, 8, 9]);
  });

  it("never drops the record just written, even with a lower number", () => {
    expect(toPrune([...range(2, 5), rev(1, "failed", undefined)], 2, 1)).toEqual([2, 3]);
  });
});
