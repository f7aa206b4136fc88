// `npx compose-roll` from the packed tarball, as a user without a global install runs it:
// npx installs the tarball (and its dependencies, from npm's cache when they are there) into
// its own cache and runs the `compose-roll` bin. Nothing named compose-roll is fetched from a
// registry: the package is the local .tgz.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/stack.js";

const run = promisify(execFile);

async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 16 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("npx", () => {
  it("runs `npx --package ./compose-roll-*.tgz compose-roll --help` from a fresh directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "compose-roll-npx-"));
    const pack = await sh("npm", ["pack", "--pack-destination", dir, ROOT], dir);
    expect(pack.code, pack.stderr).toBe(0);
    const tgz = pack.stdout.trim().split("\n").pop() ?? "";
    expect(tgz).toMatch(/^compose-roll-.*\.tgz$/);
    // npx keys its install by the spec, here a path in a fresh directory: no earlier install
    // of compose-roll can answer instead of this tarball. Dependencies come from npm's cache
    // when they are there (offline), else from the registry.
    const env = { npm_config_prefer_offline: "true", npm_config_update_notifier: "false" };
    const help = await sh("npx", ["--yes", "--package", `./${tgz}`, "compose-roll", "--help"], dir, env);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: compose-roll/);
    // The same entry's Node check and option parsing: a bad flag is exit 2, one line.
    const bad = await sh(
      "npx",
      ["--yes", "--package", `./${tgz}`, "compose-roll", "--no-such-flag"],
      dir,
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 180_000);
});
