// The CI recipes in docs/ci must keep working as the CLI changes: both files parse, and every
// compose-roll subcommand and flag they use exists in the CLI (commander's own tree).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { program } from "./main.js";

const DOCS = join(import.meta.dirname, "..", "docs", "ci");

/** Every shell snippet in a workflow: GitHub `run:` and GitLab `script`/`before_script`/`after_script`. */
function scripts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(scripts);
  if (!node || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) => {
    if (k === "run" && typeof v === "string") return [v];
    if (["script", "before_script", "after_script"].includes(k))
      return [v].flat().filter((s) => typeof s === "string");
    return scripts(v);
  });
}

/** Words of a shell command line, quotes removed (enough for these recipes: no nesting). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** The arguments given to compose-roll: after its binary, its entry point, or its image in `docker run`. */
function invocations(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.replace(/\\\n/g, " ").split("\n")) {
    const w = words(line);
    const at = w.findIndex((t) => /^compose-roll$|\/entry\.js$|COMPOSE_ROLL_IMAGE/.test(t));
    if (at < 0) continue;
    const rest = w.slice(at + 1);
    const end = rest.findIndex((t) => /^(>|\||\|\||&&|;)|^>/.test(t));
    out.push(end < 0 ? rest : rest.slice(0, end));
  }
  return out;
}

/** What is wrong with `args` for the CLI, or undefined: unknown subcommands and flags. */
function checkArgs(root: Command, args: string[]): string | undefined {
  let cmd = root.commands.find((c) => c.name() === "roll") as Command;
  const first = root.commands.find((c) => c.name() === args[0]);
  let i = 0;
  if (first) {
    cmd = first;
    i = 1;
    const sub = cmd.commands.find((c) => c.name() === args[1]);
    if (cmd.commands.length) {
      if (!sub) return `${args[0]} needs a subcommand, got ${args[1]}`;
      cmd = sub;
      i = 2;
    }
  }
  for (; i < args.length; i++) {
    const a = args[i] ?? "";
    if (!a.startsWith("-")) continue;
    const flag = a.split("=")[0];
    const opt = cmd.options.find((o) => o.long === flag || o.short === flag);
    if (!opt) return `${cmd.name()} has no option ${flag}`;
    if ((opt.required || opt.optional) && !a.includes("=")) i++;
  }
  return undefined;
}

describe("docs/ci recipes", () => {
  const root = program();
  for (const file of ["github-actions.yml", "gitlab-ci.yml"]) {
    it(`${file} parses and uses only subcommands and flags the CLI has`, () => {
      const doc = parse(readFileSync(join(DOCS, file), "utf8")) as unknown;
      const calls = scripts(doc).flatMap(invocations);
      // A rollout and a status call at least: if the extraction found nothing, that is a failure.
      expect(calls.length, JSON.stringify(calls)).toBeGreaterThanOrEqual(2);
      expect(calls.some((c) => c.includes("--json") && c.includes("--wait") && c.includes("--image"))).toBe(
        true,
      );
      for (const c of calls) expect(checkArgs(root, c), c.join(" ")).toBeUndefined();
    });
  }

  it("catches a flag or subcommand that does not exist", () => {
    expect(checkArgs(root, ["web", "--image", "x", "--no-such-flag"])).toMatch(/no option --no-such-flag/);
    expect(checkArgs(root, ["status", "web", "--image", "x"])).toMatch(/status has no option --image/);
    expect(checkArgs(root, ["lock", "steal", "web"])).toMatch(/needs a subcommand/);
    expect(checkArgs(root, ["lock", "release", "web", "--wait", "1m"])).toBeUndefined();
    expect(
      invocations('docker run --rm \\\n  "$COMPOSE_ROLL_IMAGE" web --image "$IMAGE" --json > out'),
    ).toEqual([["web", "--image", "$IMAGE", "--json"]]);
  });
});
