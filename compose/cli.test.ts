// prestart(): a call started ahead is taken by the first equal compose() call, and only by
// an equal one. The real `docker compose` runs behind a PATH shim that counts invocations.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { type ComposeArgs, compose, prestart } from "./cli.js";

function project(body: string) {
  const dir = mkdtempSync(join(tmpdir(), "cr-prestart-"));
  writeFileSync(join(dir, "compose.yaml"), body);
  const log = join(dir, "calls.log");
  const bin = join(dir, "bin");
  writeFileSync(log, "");
  // The shim runs the real docker found on the PATH without the shim's directory.
  mkdirSync(bin);
  writeFileSync(
    join(bin, "docker"),
    `#!/bin/sh\necho "$*" >> ${log}\nPATH="${process.env.PATH}" exec docker "$@"\n`,
  );
  chmodSync(join(bin, "docker"), 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const args: ComposeArgs = { files: [join(dir, "compose.yaml")], envFiles: [], profiles: [], projectName: "p" };
  const calls = () => readFileSync(log, "utf8").split("\n").filter(Boolean).length;
  return { dir, env, args, calls };
}

const CONFIG = ["config", "--format", "yaml"];

describe("prestart", () => {
  it("runs compose once: the equal compose() call takes the early result", async () => {
    const p = project("services: {web: {image: app:v1}}\n");
    prestart(p.args, CONFIG, { cwd: p.dir, env: p.env });
    const out = await compose(p.args, CONFIG, { cwd: p.dir, env: p.env });
    expect(out).toMatch(/image: app:v1/);
    expect(p.calls()).toBe(1);
    // Taken once: a later call asks compose again (the files may have changed since).
    await compose(p.args, CONFIG, { cwd: p.dir, env: p.env });
    expect(p.calls()).toBe(2);
  });

  it("is not taken by a call with other arguments or another environment", async () => {
    const p = project("services:\n  web:\n    image: ${IMG:-app:v1}\n");
    prestart(p.args, CONFIG, { cwd: p.dir, env: p.env });
    const other = await compose(p.args, CONFIG, { cwd: p.dir, env: { ...p.env, IMG: "app:v2" } });
    expect(other).toMatch(/image: app:v2/);
    const raw = await compose(p.args, ["config", "--no-interpolate", "--format", "yaml"], {
      cwd: p.dir,
      env: p.env,
    });
    expect(raw).toContain("${IMG:-app:v1}");
    expect(p.calls()).toBe(3);
    // The early one is still there for the equal call.
    expect(await compose(p.args, CONFIG, { cwd: p.dir, env: p.env })).toMatch(/image: app:v1/);
    expect(p.calls()).toBe(3);
  });

  it("hands a failure to the call that takes it, as the usual refusal", async () => {
    const p = project("services:\n  web:\n    image: ${IMG:?set IMG}\n");
    prestart(p.args, CONFIG, { cwd: p.dir, env: p.env });
    await new Promise((r) => setTimeout(r, 300)); // failed by now, and nobody waiting yet
    const taken = compose(p.args, CONFIG, { cwd: p.dir, env: p.env });
    await expect(taken).rejects.toBeInstanceOf(RefusedError);
    await expect(taken).rejects.toThrow(/set IMG/);
    expect(p.calls()).toBe(1);
  });
});
