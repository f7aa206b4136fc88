import { describe, expect, it } from "vitest";
import { CrashFilter } from "./crashes.js";

const ev = (action: string, id: string, attrs: Record<string, string> = {}) =>
  `${JSON.stringify({ Type: "container", Action: action, Actor: { ID: id, Attributes: { name: `web-${id}`, ...attrs } } })}\n`;

async function crashes(lines: string[], target = (_: string) => true): Promise<string[]> {
  const seen: string[] = [];
  const f = new CrashFilter(
    async (id) => target(id),
    (name, code) => seen.push(`${name} ${code}`),
  );
  // Split mid-line too: the stream delivers arbitrary chunks.
  const all = lines.join("");
  f.push(all.slice(0, 7));
  f.push(all.slice(7));
  await new Promise((r) => setTimeout(r, 0));
  return seen;
}

describe("CrashFilter", () => {
  it("reports a die with no kill before it (a crash), with its exit code", async () => {
    expect(await crashes([ev("die", "a", { exitCode: "3" })])).toEqual(["web-a 3"]);
  });

  it("ignores a container that was stopped (kill, then die)", async () => {
    expect(await crashes([ev("kill", "a", { signal: "15" }), ev("die", "a", { exitCode: "0" })])).toEqual([]);
  });

  it("ignores containers of another image", async () => {
    expect(await crashes([ev("die", "a", { exitCode: "3" })], () => false)).toEqual([]);
  });

  it("skips lines that are not JSON", async () => {
    expect(await crashes(["garbage\n", ev("die", "b", { exitCode: "137" })])).toEqual(["web-b 137"]);
  });

  it("holds at most 1 MiB of an event line that never ends, drops it whole, and sees the next event", async () => {
    const seen: string[] = [];
    const f = new CrashFilter(
      async () => true,
      (name, code) => seen.push(`${name} ${code}`),
    );
    const junk = "x".repeat(1 << 20);
    const before = process.memoryUsage().heapUsed;
    let peak = 0;
    for (let i = 0; i < 48; i++) {
      f.push(junk);
      peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
    // The end of the flood, which a piece of it must not be read as: then a real event.
    f.push(`${ev("die", "spoof", { exitCode: "9" })}${ev("die", "c", { exitCode: "1" })}`);
    await new Promise((r) => setTimeout(r, 0));
    expect(peak).toBeLessThan(16 << 20);
    expect(seen).toEqual(["web-c 1"]);
  });
});
