// `compose-roll --version` from the built bin (`npm run build`): the bundle in dist/cli/ finds
// package.json two directories up, as it does installed from the npm tarball or in the image.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

it("prints the package's version with --version and -V", () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const bin = join(ROOT, "dist/cli/entry.js");
  for (const flag of ["--version", "-V"]) {
    expect(execFileSync(process.execPath, [bin, flag], { encoding: "utf8" })).toBe(`${version}\n`);
  }
});
