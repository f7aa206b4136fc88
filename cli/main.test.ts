import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Command, CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { EXIT_CODES } from "../controller/errors.js";
import { exitCodesHelp, packageVersion, program } from "./main.js";
import { type CommandName, flagSpec, OPTIONS, SERVICE_COMMANDS } from "./table/index.js";

const PKG = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")) as {
  version: string;
};

/** Runs the program on `args` with its output captured; commander's exits become throws. */
function parse(args: string[]): { out: string; code: string | undefined } {
  let out = "";
  const prog = program().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  try {
    prog.parse(args, { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return { out, code: err.code };
  }
  return { out, code: undefined };
}

describe("--version", () => {
  it("prints the package's version, long and short", () => {
    expect(packageVersion()).toBe(PKG.version);
    expect(program().version()).toBe(PKG.version);
    for (const flag of ["--version", "-V"])
      expect(parse([flag])).toEqual({ out: `${PKG.version}\n`, code: "commander.version" });
  });
});

describe("--help", () => {
  it("lists every exit code from the table", () => {
    const { out } = parse(["--help"]);
    expect(out).toContain(exitCodesHelp().trim());
    for (const r of EXIT_CODES) expect(out).toContain(`  ${r.code}  ${r.short}`);
  });
});

describe("commander's options", () => {
  const root = program();
  const find = (name: CommandName): Command => {
    const [first, second] = name.split(" ");
    const cmd = root.commands.find((c) => c.name() === first) as Command;
    return second ? (cmd.commands.find((c) => c.name() === second) as Command) : cmd;
  };
  const names: CommandName[] = [...SERVICE_COMMANDS, "install-plugin"];

  it("neither roll nor up requires --image (both roll to what the files say)", () => {
    const image = (name: CommandName) => find(name).options.find((o) => o.long === "--image");
    expect(image("roll")?.mandatory).toBe(false);
    expect(image("up")?.mandatory).toBe(false);
    expect(find("up").registeredArguments.map((a) => [a.name(), a.variadic, a.required])).toEqual([
      ["services", true, false],
    ]);
  });

  it.each(names)("%s takes exactly the table's options for it", (name) => {
    const declared = find(name).options.map((o) => o.flags);
    const expected = OPTIONS.filter((o) => o.commands.includes(name)).map(flagSpec);
    expect(declared).toEqual(expected);
  });
});
