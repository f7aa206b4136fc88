// Bad input and secrets, against one real demo stack started once (issue 13).
// - Secrets: the service's environment holds a secret (from .env, as real projects keep
//   them); a dry run, a rollout, status and history with --json and -v must not print it.
// - Bad input: every case of test/support/bad-input.ts exits 2 with one `compose-roll:` line
//   naming the input (plus one `what to do:` line), and nothing on the host changes: the
//   project's containers, every file under the project directory (compose, env, Traefik
//   files), compose-roll's state records. No hostile string reaches a shell: the marker file
//   they try to create never appears. docs/bad-input.md is generated from these runs
//   (UPDATE_DOCS=1) and checked against them otherwise.
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BadInput, CASES, type CaseContext, FIXTURES } from "../support/bad-input.js";
import { type CliRun, runCli, stackArgs } from "../support/cli.js";
import { type DemoStack, ROOT, startDemo } from "../support/stack.js";

const SECRET = `cr-e2e-secret-${randomBytes(12).toString("hex")}`;
const MARKER = join(tmpdir(), `compose-roll-pwned-${process.pid}`);
const docker = new Docker();
let stack: DemoStack;
let ctx: CaseContext;

beforeAll(async () => {
  // Traefik's reload throttle at 100 ms keeps the one rollout here short (as in recovery.e2e).
  stack = await startDemo(
    "badinput",
    { TRAEFIK_THROTTLE: "100ms" },
    {
      files: ["compose.yaml", "compose.override.yaml"],
      prepare: (dir) => {
        // The image variable next to a secret, as in most projects' .env.
        writeFileSync(
          join(dir, ".env"),
          `API_TOKEN=${SECRET}\nWEB_IMAGE=compose-roll-demo/app:v1\nDEBUG=0\n`,
        );
        writeFileSync(
          join(dir, "compose.override.yaml"),
          // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own ${VAR} syntax, not a template
          "services:\n  web:\n    environment:\n      API_TOKEN: ${API_TOKEN}\n",
        );
      },
    },
  );
  const fixtures = join(stack.dir, "fixtures");
  mkdirSync(fixtures);
  for (const [name, text] of Object.entries(FIXTURES))
    writeFileSync(join(fixtures, `${name}.yaml`), text.replaceAll("$MARKER", MARKER));
  ctx = {
    dir: stack.dir,
    project: stack.project,
    fx: (name) => join(fixtures, `${name}.yaml`),
    stack: stackArgs(stack),
    marker: MARKER,
    empty: mkdtempSync(join(tmpdir(), "compose-roll-empty-")),
  };
  const sync = await cli(["sync", "web", ...ctx.stack]);
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
});

function cli(args: string[], env: Record<string, string> = {}, cwd = stack.dir): Promise<CliRun> {
  return runCli(args, { cwd, env: { ...stack.composeEnv, ...env } });
}

describe("secrets stay out of logs and events", () => {
  const leaks = (run: CliRun) => (run.stdout + run.stderr).includes(SECRET);

  it("a dry run, a rollout, status and history with --json and -v never print the service's secret", async () => {
    const dry = await cli([
      "web",
      "--image",
      "compose-roll-demo/app:v2",
      "--dry-run",
      "--json",
      "-v",
      ...ctx.stack,
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    // The plan shows the .env change (the line after the secret's), so the secret was at hand.
    expect(dry.stdout).toMatch(/WEB_IMAGE=compose-roll-demo\/app:v2/);
    expect(leaks(dry), dry.stdout).toBe(false);
    const human = await cli(["web", "--image", "compose-roll-demo/app:v2", "--dry-run", "-v", ...ctx.stack]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^\+WEB_IMAGE=compose-roll-demo\/app:v2$/m);
    expect(leaks(human), human.stdout).toBe(false);

    const roll = await cli([
      "web",
      "--image",
      "compose-roll-demo/app:v2",
      "--drain",
      "1s",
      "--json",
      "-v",
      ...ctx.stack,
    ]);
    expect(roll.code, roll.stderr).toBe(0);
    expect(roll.events.find((e) => e.type === "done")).toMatchObject({ result: "complete" });
    expect(leaks(roll), roll.stdout + roll.stderr).toBe(false);
    // The new containers do carry it: it was there to leak.
    const [first] = await docker.listContainers({
      filters: { label: [`com.docker.compose.project=${stack.project}`, "com.docker.compose.service=web"] },
    });
    const env = (await docker.getContainer(first?.Id ?? "").inspect()).Config.Env;
    expect(env).toContain(`API_TOKEN=${SECRET}`);

    for (const args of [
      ["status", "web"],
      ["history", "web"],
      ["undo", "web", "--dry-run"],
    ]) {
      const run = await cli([...args, "--json", "-v", ...ctx.stack]);
      expect(run.code, run.stderr).toBe(0);
      expect(leaks(run), `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(false);
    }
    expect(readFileSync(join(stack.dir, ".env"), "utf8")).toBe(
      `API_TOKEN=${SECRET}\nWEB_IMAGE=compose-roll-demo/app:v2\nDEBUG=0\n`,
    );
  });
});

/** Everything a refused command must leave alone, as one comparable text. */
async function snapshot(): Promise<string> {
  const byLabel = async (label: string) =>
    (await docker.listContainers({ all: true, filters: { label: [label] } }))
      .map((c) => `${c.Id} ${c.State} ${JSON.stringify(c.Labels)}`)
      .sort();
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      const sum = st.isFile() ? createHash("sha256").update(readFileSync(path)).digest("hex") : "dir";
      files.push(`${relative(stack.dir, path)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${sum}`);
    }
  };
  walk(stack.dir);
  return JSON.stringify(
    {
      containers: await byLabel(`com.docker.compose.project=${stack.project}`),
      state: (await byLabel(`com.compose-roll.project=${stack.project}`)).filter((c) =>
        c.includes("com.compose-roll.kind"),
      ),
      files,
    },
    null,
    1,
  );
}

interface Ran {
  c: BadInput;
  run: CliRun;
  args: string[];
}
const ran: Ran[] = [];

describe("bad input: exit 2, one line naming the input and the fix, nothing changed", () => {
  let baseline: string;
  beforeAll(async () => {
    baseline = await snapshot();
    // Revision records exist (the rollout above), so "nothing changed" covers them too.
    expect(baseline).toMatch(/com\.compose-roll\.kind/);
  });

  it("has at least 30 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    const args = c.args(ctx);
    const run = await cli(args, c.env?.(ctx) ?? {}, c.fromEmpty ? ctx.empty : stack.dir);
    ran.push({ c, run, args });
    const lines = run.stderr.split("\n").filter((l) => l !== "");
    expect(run.code, run.stderr).toBe(2);
    expect(lines, run.stderr).toHaveLength(2);
    expect(lines[0]).toMatch(/^compose-roll: /);
    expect(lines[0]).toMatch(c.names);
    expect(lines[1]).toMatch(/^ {2}what to do: /);
    expect(lines.join("\n")).toMatch(c.fix);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // stdout carries nothing but --json events.
    for (const line of run.stdout.split("\n").filter(Boolean))
      expect(() => JSON.parse(line), line).not.toThrow();
    expect(existsSync(MARKER), "a hostile string reached a shell").toBe(false);
    expect(await snapshot()).toBe(baseline);
  });

  it("docs/bad-input.md lists every case as it ran", () => {
    expect(ran).toHaveLength(CASES.length);
    const text = badInputDoc(ran);
    const path = join(ROOT, "docs/bad-input.md");
    if (process.env.UPDATE_DOCS) writeFileSync(path, text);
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});

/** Paths, names and ports of this run replaced by stable ones, so the doc does not churn. */
function normalize(text: string): string {
  return text
    .replaceAll(stack.dir, "/srv/shop")
    .replaceAll(ctx.empty, "/srv/empty")
    .replaceAll(MARKER, "/tmp/pwned")
    .replaceAll(stack.project, "shop")
    .replaceAll(stack.apiUrl, "http://127.0.0.1:8080")
    .replaceAll(stack.httpUrl, "http://127.0.0.1:8000");
}

function quote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  if (!/[\n\r']/.test(arg)) return `'${arg}'`;
  return `$'${arg.replaceAll("\\", "\\\\").replaceAll("'", "\\'").replaceAll("\n", "\\n").replaceAll("\r", "\\r")}'`;
}

function badInputDoc(runs: Ran[]): string {
  const out = [
    "# Bad input: what compose-roll refuses, and what it says",
    "",
    "Generated by `UPDATE_DOCS=1 npx vitest run --project e2e test/e2e/bad-input.e2e.test.ts`",
    "from the cases in `test/support/bad-input.ts`, run against the demo stack; the test fails",
    "when this file and what the commands print differ. Every case exits 2, prints one",
    "`compose-roll:` line naming the input and one `what to do:` line with the fix, and changes",
    "nothing: the project's containers, its compose, env and Traefik files (bytes, mode,",
    "owner) and compose-roll's state records are compared before and after each run. No",
    "value reaches a shell: the hostile cases try to create /tmp/pwned, and it never appears.",
    "",
    "Each command also got the stack's `-p shop --traefik-file dynamic/web.yml --traefik-api",
    "... --traefik-url ...` unless it names its own; fixture files are under `fixtures/` and",
    "are added after the project's own `-f compose.yaml`.",
  ];
  const stackArgText = ` ${ctx.stack.map(quote).join(" ")}`;
  let group = "";
  runs.forEach(({ c, run, args }, i) => {
    if (c.group !== group) {
      group = c.group;
      out.push("", `## ${group}`);
    }
    const env = Object.entries(c.env?.(ctx) ?? {}).map(([k, v]) => `${k}=${quote(v)} `);
    const command = `compose-roll ${args.map(quote).join(" ")}`.replace(stackArgText, "");
    out.push("", `${i + 1}. ${c.name}${c.fromEmpty ? " (from a directory without compose files)" : ""}`, "");
    out.push(`       $ ${normalize(env.join("") + command)}`);
    for (const line of run.stderr.split("\n").filter(Boolean)) out.push(`       ${normalize(line)}`);
    out.push(`       (exit ${run.code})`);
  });
  return `${out.join("\n")}\n`;
}
