// cli/entry.ts sets V8 flags from inside the process (issue 12's RSS). V8 documents no promise
// that a flag set after start-up holds, so this runs the real entry.ts (Node strips its types)
// beside a stand-in main.js whose run() looks at V8 from where the CLI's code would run: a hot
// function stays unoptimized and the young generation keeps its first size. The same checks on
// a copy without the flags line must see the opposite, or they would prove nothing.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ENTRY = join(import.meta.dirname, "entry.ts");
const FLAGS_LINE = /^setFlagsFromString\(.*\);$/m;

// What run() reports: the new space's size after 300k objects survived scavenges, and V8's
// optimization status of a function called a million times (bit 4: optimized, by any tier).
const MAIN = `
import v8 from "node:v8";
export async function run() {
  const keep = [];
  for (let i = 0; i < 300000; i++) keep.push({ i, s: "x" + i });
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  const hot = (x) => x * 2 + 1;
  let sum = 0;
  for (let i = 0; i < 1e6; i++) sum += hot(i);
  const status = new Function("f", "return %GetOptimizationStatus(f)")(hot);
  process.stdout.write(JSON.stringify({ newSpaceKb: space.space_size / 1024, optimized: (status & 16) !== 0, kept: keep.length, sum }));
}
`;

function runEntry(source: string): { newSpaceKb: number; optimized: boolean } {
  const dir = mkdtempSync(join(tmpdir(), "cr-entry-"));
  writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
  writeFileSync(join(dir, "entry.ts"), source);
  writeFileSync(join(dir, "main.js"), MAIN);
  const res = spawnSync(
    process.execPath,
    ["--experimental-strip-types", "--allow-natives-syntax", join(dir, "entry.ts")],
    {
      encoding: "utf8",
    },
  );
  // Node 22 warns that type stripping is experimental; anything else is a failure.
  expect(res.stderr.replace(/.*ExperimentalWarning.*\n|.*--trace-warnings.*\n/g, "")).toBe("");
  return JSON.parse(res.stdout);
}

describe("cli/entry.ts: V8 flags for a smaller RSS", () => {
  const source = readFileSync(ENTRY, "utf8");

  it("has the flags line the control below removes", () => {
    expect(source).toMatch(FLAGS_LINE);
  });

  it("keeps hot code unoptimized and the young generation at 1 MB a semi-space", () => {
    const seen = runEntry(source);
    expect(seen.optimized).toBe(false);
    expect(seen.newSpaceKb).toBeLessThanOrEqual(2048);
  });

  it("control: without the flags line, the same checks see TurboFan and a grown new space", () => {
    const seen = runEntry(source.replace(FLAGS_LINE, ""));
    expect(seen.optimized).toBe(true);
    expect(seen.newSpaceKb).toBeGreaterThan(4096);
  });
});
