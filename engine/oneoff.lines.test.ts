// A hook's output is split into lines as it comes; a line that never ends (a progress bar
// redrawn with \r, a binary dump) must not be held whole in memory until the hook exits.
import { expect, it } from "vitest";
import { splitLines } from "./oneoff.js";

it("cuts a line without a newline at 64 KiB, keeping every byte and the lines after it", async () => {
  const lines: string[] = [];
  const s = splitLines((l) => lines.push(l));
  const chunk = "x".repeat(16 * 1024);
  let longest = 0;
  for (let i = 0; i < 64; i++) {
    s.write(chunk);
    // What is held back unsplit stays under the cap while the line keeps coming.
    longest = Math.max(longest, ...lines.map((l) => l.length));
  }
  s.end("tail\nnext\n");
  await new Promise((r) => s.on("end", r).resume());
  expect(lines.length).toBeGreaterThan(1);
  expect(longest).toBeLessThanOrEqual(64 * 1024);
  expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(64 * 1024);
  expect(lines.join("")).toBe(`${chunk.repeat(64)}tailnext`);
  expect(lines.at(-1)).toBe("next");
});
