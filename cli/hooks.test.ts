// The hooks' orchestration with a scripted Tasks and the gate's real Django 3.2 output
// (controller/fixtures): what runs in which order, and which failure exits how.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type HookContext, postDeploy, preDeploy } from "../app/hooks.js";
import { ExitCode, exitCodeFor } from "../controller/errors.js";
import { FakeWorld } from "../controller/fakes.test-support.js";
import type { ImageInfo } from "../controller/model.js";
import type { TaskOptions, TaskResult, Tasks } from "../controller/ports.js";
import { parseOptions, type RawOptions } from "./options.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../controller/fixtures/${name}`, import.meta.url), "utf8");
const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };
const MIGRATE = "python3 manage.py migrate --noinput";

/** Answers each argv from a script; records what ran, in order. */
class ScriptedTasks implements Tasks {
  ran: string[][] = [];
  constructor(private readonly answer: (argv: string[], opts: TaskOptions) => Promise<Partial<TaskResult>>) {}
  async run(_t: unknown, _i: ImageInfo, argv: string[], opts: TaskOptions): Promise<TaskResult> {
    this.ran.push(argv);
    const r = await this.answer(argv, opts);
    for (const line of (r.stdout ?? "").split("\n").filter(Boolean)) opts.onLine?.(line, "stdout");
    return { exitCode: 0, stdout: "", lastError: "", seconds: 0.1, ...r };
  }
}

function setup(raw: RawOptions, answer: ConstructorParameters<typeof ScriptedTasks>[0]) {
  const world = new FakeWorld([v1, v2]).seed(3, v1);
  const tasks = new ScriptedTasks(answer);
  const opts = parseOptions("web", { traefikFile: "/tmp/web.yml", ...raw }, "/");
  const ctx = {
    opts,
    svc: { project: "demo", service: "web" },
    deps: { engine: world, router: world, clock: world, reporter: world },
    tasks,
  } as unknown as HookContext;
  return { world, tasks, ctx };
}

const planOf = (text: string) => async (argv: string[]) =>
  argv.includes("--plan") ? { stdout: text } : argv.includes("sqlmigrate") ? { stdout: "" } : {};

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("preDeploy", () => {
  it("asks for the plan first, then runs the hook, streaming its output", async () => {
    const { world, tasks, ctx } = setup({ preDeploy: MIGRATE }, async (argv) =>
      argv.includes("--plan")
        ? { stdout: fixture("plan-empty.txt") }
        : { stdout: "Applying visits.0002... OK" },
    );
    await preDeploy(ctx, v2, new AbortController().signal);
    expect(tasks.ran).toEqual([
      ["python3", "manage.py", "migrate", "--plan"],
      ["python3", "manage.py", "migrate", "--noinput"],
    ]);
    const types = world.events.map((e) => (e.type === "hook" ? `${e.type}:${e.state}` : e.type));
    expect(types).toEqual(["gate", "hook:running", "output", "hook:succeeded"]);
    expect(world.events[0]).toMatchObject({ type: "gate", result: "safe", migrations: [] });
  });

  it("a failing hook is exit 6, naming the exit code and its last error line; nothing ran after it", async () => {
    const { world, ctx } = setup({ preDeploy: ["sh", "-c", "exit 3"] }, async () => ({
      exitCode: 3,
      lastError: "django.db.utils.OperationalError: could not connect",
    }));
    const err = await failure(preDeploy(ctx, v2, new AbortController().signal));
    expect(exitCodeFor(err)).toBe(ExitCode.preDeployFailed);
    expect(err.message).toBe(
      "pre-deploy hook `sh -c 'exit 3'` failed with exit code 3 (django.db.utils.OperationalError: could not connect); nothing changed, web still runs its current image",
    );
    // Not a migrate command: no gate ran.
    expect(world.events.some((e) => e.type === "gate")).toBe(false);
  });

  it("the gate refuses a breaking plan with the migration and operation named, before the hook runs", async () => {
    const { world, tasks, ctx } = setup({ preDeploy: MIGRATE }, planOf(fixture("plan-forward.txt")));
    const err = await failure(preDeploy(ctx, v2, new AbortController().signal));
    expect(exitCodeFor(err)).toBe(6);
    expect(err.message).toMatch(
      /^migration gate refused: .*catalog\.0013_remove_book_blurb: Remove field blurb from book/,
    );
    expect(err.message).toMatch(/nothing changed$/);
    expect(tasks.ran.some((a) => a.includes("--noinput"))).toBe(false);
    expect(world.events.find((e) => e.type === "gate")).toMatchObject({ result: "refused" });
  });

  it("--allow-breaking and --migration-gate warn let it through with a warning; off skips the plan", async () => {
    for (const raw of [{ allowBreaking: true }, { migrationGate: "warn" }]) {
      const { world, tasks, ctx } = setup(
        { preDeploy: MIGRATE, ...raw },
        planOf(fixture("plan-forward.txt")),
      );
      await preDeploy(ctx, v2, new AbortController().signal);
      expect(world.events.find((e) => e.type === "gate")).toMatchObject({ result: "warned" });
      expect(tasks.ran.at(-1)).toEqual(["python3", "manage.py", "migrate", "--noinput"]);
    }
    const { tasks, ctx } = setup({ preDeploy: MIGRATE, migrationGate: "off" }, planOf(""));
    await preDeploy(ctx, v2, new AbortController().signal);
    expect(tasks.ran).toEqual([["python3", "manage.py", "migrate", "--noinput"]]);
  });

  it("an unreadable plan or a failing `migrate --plan` is exit 6 too, never a silent pass", async () => {
    const { ctx } = setup({ preDeploy: MIGRATE }, planOf("Traceback (most recent call last):\n  boom"));
    expect(exitCodeFor(await failure(preDeploy(ctx, v2, new AbortController().signal)))).toBe(6);
    const failing = setup({ preDeploy: MIGRATE }, async () => ({ exitCode: 1, lastError: "no such table" }));
    const err = await failure(preDeploy(failing.ctx, v2, new AbortController().signal));
    expect(err.message).toMatch(
      /^migration gate: `python3 manage.py migrate --plan` failed with exit code 1 \(no such table\)/,
    );
  });

  it("a Docker error or a signal during the hook is exit 6, saying nothing changed", async () => {
    const { ctx } = setup({ preDeploy: "true" }, async (_argv, opts) => {
      await new Promise((_, reject) => {
        if (opts.signal.aborted) reject(opts.signal.reason);
        opts.signal.addEventListener("abort", () => reject(opts.signal.reason));
      });
      return {};
    });
    const ac = new AbortController();
    const p = preDeploy(ctx, v2, ac.signal);
    ac.abort(new Error("interrupted by SIGINT"));
    const err = await failure(p);
    expect(exitCodeFor(err)).toBe(6);
    expect(err.message).toBe("pre-deploy hook `true` failed: interrupted by SIGINT; nothing changed");
  });

  it("says the gate was skipped when the hook runs migrate behind a wrapper it cannot read", async () => {
    const { world, tasks, ctx } = setup(
      { preDeploy: ["sh", "-c", "python3 manage.py migrate --noinput"] },
      planOf(""),
    );
    await preDeploy(ctx, v2, new AbortController().signal);
    expect(tasks.ran).toEqual([["sh", "-c", "python3 manage.py migrate --noinput"]]);
    expect(world.events.find((e) => e.type === "gate")).toMatchObject({
      result: "skipped",
      detail: expect.stringMatching(/does not read/),
    });
  });

  it("no hook: nothing runs", async () => {
    const { tasks, ctx } = setup({}, planOf(""));
    await preDeploy(ctx, v2, new AbortController().signal);
    expect(tasks.ran).toEqual([]);
  });
});

describe("postDeploy", () => {
  it("a failure is exit 8 and says the rollout itself is complete", async () => {
    const { ctx } = setup({ postDeploy: "python3 manage.py clearsessions" }, async () => ({ exitCode: 2 }));
    const err = await failure(postDeploy(ctx, v2));
    expect(exitCodeFor(err)).toBe(ExitCode.postDeployFailed);
    expect(err.message).toMatch(
      /exit code 2; the rollout itself is complete: web serves app:v2, nothing was rolled back$/,
    );
  });
});
