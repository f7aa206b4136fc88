import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT_CODES, ExitCode, exitCodeFor, LockLostError, RefusedError } from "../controller/errors.js";
import { configurationDoc, exitCodesDoc, generatedDocs } from "./docs.js";
import { OPTIONS, SETTINGS } from "./table/index.js";

const ROOT = join(import.meta.dirname, "..");

describe("generated docs", () => {
  // `npm run docs:gen` rewrites them; a change to a table without it fails here.
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  for (const [path, text] of Object.entries(generatedDocs(readme))) {
    it(`${path} is what the table generates`, () => {
      expect(readFileSync(join(ROOT, path), "utf8")).toBe(text);
    });
  }

  it("docs/configuration.md has a section per option and names every variable and key", () => {
    const doc = configurationDoc();
    for (const o of OPTIONS) expect(doc).toContain(`\n### --${o.negate ? "no-" : ""}${o.key}\n`);
    for (const o of SETTINGS) {
      expect(doc).toContain(`COMPOSE_ROLL_${o.key.toUpperCase().replaceAll("-", "_")}`);
      expect(doc).toContain(`- x-compose-roll: \`${o.key}\``);
    }
  });

  it("docs/exit-codes.md lists every code with its error", () => {
    const doc = exitCodesDoc();
    for (const r of EXIT_CODES) expect(doc).toMatch(new RegExp(`\\n\\| ${r.code} \\| \`${r.name}\` \\|`));
    expect(doc).toContain("| 4 | `lockLost` | `LockLostError` |");
  });
});

describe("exit codes", () => {
  it("keep their values, and a lost lock has its own", () => {
    expect(ExitCode).toEqual({
      ok: 0,
      unexpected: 1,
      refused: 2,
      lockHeld: 3,
      lockLost: 4,
      rolledBack: 5,
      preDeployFailed: 6,
      rollbackFailed: 7,
      postDeployFailed: 8,
      noLeader: 9,
    });
    expect(exitCodeFor(new LockLostError("lost"))).toBe(4);
    expect(exitCodeFor(new RefusedError("no"))).toBe(2);
    expect(exitCodeFor(new Error("?"))).toBe(1);
  });
});
