import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { parseStat, pidAlive, samePidSpace, selfTag } from "./proc.js";

const kids: number[] = [];
afterEach(() => {
  for (const pid of kids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
});

/**
 * A zombie nobody reaps, as on a CI container whose PID 1 never waits: `sh` starts `sleep`
 * in the background, then becomes another `sleep` itself (exec), which never calls wait().
 * Killing the first sleep leaves it a zombie for as long as its parent lives.
 */
async function zombie(): Promise<number> {
  const parent = spawn("sh", ["-c", "sleep 60 & echo $!; exec sleep 60"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  kids.push(parent.pid as number);
  const pid = Number(
    await new Promise<string>((ok) => parent.stdout.once("data", (d: Buffer) => ok(String(d)))),
  );
  process.kill(pid, "SIGKILL");
  // Up to 10 s: on a loaded machine the kernel can take over a second to finish the kill.
  for (const end = Date.now() + 10_000; !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8")); ) {
    if (Date.now() > end) throw new Error(`pid ${pid} did not become a zombie within 10 s`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
  return pid;
}

describe("pidAlive", () => {
  it("sees this process, not an exited one, and never signals a group", () => {
    expect(pidAlive(process.pid)).toBe(true);
    const child = spawnSync(process.execPath, ["-e", ""]);
    expect(pidAlive(child.pid ?? -1)).toBe(false);
    expect(pidAlive(0)).toBe(false);
    expect(pidAlive(-1)).toBe(false);
  });

  it("a SIGKILLed process its parent has not reaped (a zombie) is not alive", async () => {
    const pid = await zombie();
    // What the lock used to ask: the kernel still answers for a zombie.
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(pidAlive(pid)).toBe(false);
  });

  it("a pid now used by another process (another start time) is not the holder", () => {
    const mine = selfTag()?.start as string;
    expect(pidAlive(process.pid, mine)).toBe(true);
    expect(pidAlive(process.pid, String(Number(mine) + 1))).toBe(false);
  });

  it("without /proc, falls back to kill(pid, 0)", () => {
    const noProc = () => {
      throw Object.assign(new Error("no /proc"), { code: "ENOENT" });
    };
    expect(pidAlive(process.pid, "1", noProc)).toBe(true);
    expect(pidAlive(2 ** 22 + 1, undefined, noProc)).toBe(false);
  });
});

describe("parseStat", () => {
  it("counts fields from the last ')', whatever the command name holds", () => {
    const tail = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20";
    expect(parseStat(`42 (a) b) c) ${tail}`)).toEqual({ state: "S", start: "987654" });
    expect(parseStat("42 (x")).toBeUndefined();
    expect(parseStat("42 (x) Z 1")).toBeUndefined();
  });
});

describe("selfTag / samePidSpace", () => {
  it("reads this process's start, boot and pid namespace", () => {
    const t = selfTag();
    expect(t).toEqual({
      start: expect.stringMatching(/^\d+$/),
      boot: expect.any(String),
      pidns: expect.stringMatching(/^pid:\[\d+\]$/),
    });
    expect(samePidSpace(t, t)).toBe(true);
    expect(samePidSpace(t, t && { ...t, boot: "other" })).toBe(false);
    expect(samePidSpace(undefined, t)).toBe(true);
  });
});
