// Deploy hooks on the real Django demo and PostgreSQL (examples/demo, its x-compose-roll block:
// pre-deploy migrate, the migration gate, smoke and warm-up): migrate-then-roll under load
// with 0 failed requests; a failing hook and the gate's refusal of v3's dropped column change
// nothing (container IDs, Traefik file bytes, the database schema); --allow-breaking lets v3
// through, and a smoke mismatch then rolls back with exit 5. Real engine, compose, Traefik.
import { readFileSync } from "node:fs";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe } from "../load/probe.js";
import { runCli } from "../support/cli.js";
import { compose, type DemoStack, PATIENT_HEALTH, startDemo } from "../support/stack.js";

const app = (tag: string) => `compose-roll-demo/app:${tag}`;
const docker = new Docker();
let stack: DemoStack;

beforeAll(async () => {
  stack = await startDemo("hooks", {}, { ...PATIENT_HEALTH, example: "demo", migrate: true });
  const sync = await cli(["sync", "web"]);
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
});

/** compose-roll as a user in the project directory runs it: the compose file carries the settings. */
function cli(args: string[]) {
  const files = stack.files.flatMap((f) => ["-f", f]);
  return runCli([...args, "-p", stack.project, ...files], { cwd: stack.dir, env: stack.composeEnv });
}

async function roll(tag: string, ...flags: string[]) {
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 1000 }).start();
  const run = await cli(["web", "--image", app(tag), "--json", ...flags]);
  const load = await probe.stop();
  console.log(`roll ${tag} ${flags.join(" ")}: exit ${run.code}; ${formatReport(load)}`);
  return { run, load };
}

/** What "nothing changed" is checked against. */
async function snapshot() {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${stack.project}`, "com.docker.compose.service=web"] },
  });
  const columns = await psql(
    "SELECT string_agg(column_name || ' ' || is_nullable, ', ' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'visits_visit'",
  );
  const applied = await psql(
    "SELECT string_agg(name, ',' ORDER BY name) FROM django_migrations WHERE app = 'visits'",
  );
  return {
    ids: list.map((c) => c.Id).sort(),
    traefik: readFileSync(stack.traefikFile),
    compose: readFileSync(`${stack.dir}/compose.yaml`, "utf8"),
    schema: `${columns.trim()} | ${applied.trim()}`,
  };
}

const psql = async (sql: string) =>
  (await compose(stack, ["exec", "-T", "db", "psql", "-X", "-tA", "-U", "demo", "-d", "demo", "-c", sql]))
    .stdout;

/** Hook one-offs left on the host (there must be none once a command has returned). */
async function leftovers(): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${stack.project}`, "com.compose-roll.task"] },
  });
  return list.map((c) => c.Names?.[0] ?? c.Id);
}

const index = (events: Record<string, unknown>[], pred: (e: Record<string, unknown>) => boolean) =>
  events.findIndex(pred);

describe("deploy hooks on the Django demo", () => {
  it("migrates in a one-off container of v2 before any old container is touched, then rolls with 0 failed requests", async () => {
    const { run, load } = await roll("v2", "--post-deploy", "python3 manage.py showmigrations visits");
    expect(run.code, run.stderr).toBe(0);
    expect(load.failed, formatReport(load)).toBe(0);
    const ev = run.events;
    const gate = ev.find((e) => e.type === "gate");
    expect(gate).toMatchObject({ result: "safe", migrations: ["visits.0002_visit_user_agent"] });
    const hookDone = index(
      ev,
      (e) => e.type === "hook" && e.hook === "pre-deploy" && e.state === "succeeded",
    );
    const firstReplica = index(ev, (e) => e.type === "replica");
    expect(hookDone).toBeGreaterThan(0);
    expect(hookDone).toBeLessThan(firstReplica);
    expect(
      ev.some(
        (e) => e.type === "output" && /Applying visits\.0002_visit_user_agent\.\.\. OK/.test(String(e.line)),
      ),
    ).toBe(true);
    // Smoke, then warm-up, on each of the 3 new containers before it was routed.
    const checks = ev.filter((e) => e.type === "check").map((e) => String(e.detail));
    expect(checks.filter((d) => d.startsWith("smoke")).length).toBe(3);
    expect(checks.filter((d) => /^warm-up \/visits\/ .*20 of 20 requests/.test(d)).length).toBe(3);
    const done = index(ev, (e) => e.type === "done");
    const post = index(ev, (e) => e.type === "hook" && e.hook === "post-deploy" && e.state === "succeeded");
    expect(post).toBeGreaterThan(done);
    expect((await snapshot()).schema).toMatch(/user_agent YES .*0001_initial,0002_visit_user_agent$/);
    expect(await leftovers()).toEqual([]);
    // The one-offs never showed up as the service's containers.
    const ps = await compose(stack, ["ps", "-a", "web", "--format", "{{.Name}}"]);
    expect(ps.stdout.trim().split("\n")).toHaveLength(3);
  });

  it("the gate refuses v3's dropped column with exit 6, naming the migration; nothing changed", async () => {
    const before = await snapshot();
    const { run, load } = await roll("v3");
    expect(run.code, run.stderr).toBe(6);
    expect(run.stderr).toMatch(
      /compose-roll: migration gate refused: visits\.0003_remove_visit_user_agent: Remove field user_agent from visit .*nothing changed/,
    );
    expect(run.stderr).toMatch(/what to do: .*expand/);
    expect(load.failed).toBe(0);
    expect(await snapshot()).toEqual(before);
    expect(await leftovers()).toEqual([]);
  });

  it("a failing pre-deploy hook exits 6; container IDs, Traefik file bytes, compose file and schema unchanged", async () => {
    const before = await snapshot();
    const hook = `python3 -c "import sys; print('checking'); sys.exit('broken release: refusing')"`;
    const { run } = await roll("v3", "--pre-deploy", hook);
    expect(run.code, run.stderr).toBe(6);
    expect(run.stderr).toMatch(
      /pre-deploy hook .* failed with exit code 1 \(broken release: refusing\); nothing changed/,
    );
    expect(run.events.some((e) => e.type === "output" && e.line === "checking")).toBe(true);
    expect(await snapshot()).toEqual(before);
    expect(await leftovers()).toEqual([]);
  });

  it("--allow-breaking lets v3 through with a warning; a smoke mismatch then rolls back with exit 5", async () => {
    const { run, load } = await roll("v3", "--allow-breaking", "--smoke", "/=v9-not-this-release");
    expect(run.code, run.stderr).toBe(5);
    expect(run.events.find((e) => e.type === "gate")).toMatchObject({
      result: "warned",
      detail: "--allow-breaking",
    });
    expect(run.stderr).toMatch(
      /smoke check \/ on \S+: expected "v9-not-this-release", got 200 "\{.*\\"release\\": \\"v3\\"/,
    );
    expect(run.events.some((e) => e.type === "hook" && e.hook === "post-deploy")).toBe(false);
    expect(run.events.find((e) => e.type === "done")).toMatchObject({ result: "rolled-back" });
    // The smoke check failed the first new replica before Traefik ever routed a user to it.
    expect(load.releases).not.toContain("v3");
    const after = await snapshot();
    expect(after.ids).toHaveLength(3);
    expect(after.schema).toMatch(/0003_remove_visit_user_agent$/); // the breaking migration did run
    expect(await leftovers()).toEqual([]);
  });
});
