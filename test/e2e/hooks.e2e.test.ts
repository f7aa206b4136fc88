// The Django demo on PostgreSQL (examples/demo), one stack for two sets of tests. First the
// stack and the releases' schemas are what deploy hooks assume (3 x v1 migrated to 0001, v2's
// nullable AddField, v3's RemoveField), rolling nothing; v2's migration is then unapplied so
// the hooks start from 0001 again. Then the hooks (its x-compose-roll block: pre-deploy migrate,
// the migration gate, smoke and warm-up): migrate-then-roll under load with 0 failed requests;
// a failing hook and the gate's refusal of v3's dropped column change nothing (container IDs,
// Traefik file bytes, the database schema); --allow-breaking lets v3 through, and a smoke
// mismatch then rolls back with exit 5. Real engine, compose, Traefik.
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

interface Visits {
  release: string;
  visits: number;
  schema: number;
}

async function visit(): Promise<Visits> {
  const res = await fetch(`${stack.httpUrl}/visits/`);
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return JSON.parse(body) as Visits;
}

/** `manage.py <args>` in a one-off container of the given release, on the stack's network and env. */
async function manage(release: string, ...args: string[]): Promise<string> {
  const { stdout } = await compose(
    stack,
    ["run", "--rm", "--no-deps", "web", "python3", "manage.py", ...args],
    {
      WEB_IMAGE: `compose-roll-demo/app:${release}`,
    },
  );
  return stdout;
}

describe("the Django demo on PostgreSQL", () => {
  it("is what its compose file says: a second `up -d` recreates nothing", async () => {
    const { stderr } = await compose(stack, ["up", "-d", "--dry-run"]);
    expect(stderr).toMatch(/Container \S+-db-1 {2}Running/);
    expect(stderr).not.toMatch(/Recreate|Creat|Start/);
  });

  it("records every /visits/ request through Traefik: the count grows", async () => {
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const v = await visit();
      expect(v).toMatchObject({ release: "v1", schema: 1 });
      counts.push(v.visits);
    }
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1] ?? 0);
  });

  it("v1 keeps working once v2's migration (a nullable AddField) has run", async () => {
    const before = (await visit()).visits;
    const out = await manage("v2", "migrate", "--noinput");
    expect(out).toMatch(/Applying visits\.0002_visit_user_agent\.\.\. OK/);
    expect(
      await psql("SELECT is_nullable FROM information_schema.columns WHERE column_name = 'user_agent'"),
    ).toBe("YES\n");
    for (let i = 1; i <= 6; i++) {
      const v = await visit();
      expect(v.release).toBe("v1");
      expect(v.visits).toBe(before + i);
    }
    // v1's INSERTs leave the column it doesn't know about NULL; v2's code fills it in.
    expect(await psql("SELECT count(*) FROM visits_visit WHERE user_agent IS NOT NULL")).toBe("0\n");
    const get =
      "from django.test import Client; print(Client(HTTP_USER_AGENT='e2e-v2').get('/visits/').content.decode())";
    const v2 = JSON.parse(await manage("v2", "shell", "-c", get)) as Visits;
    expect(v2).toMatchObject({ release: "v2", schema: 2, visits: before + 7 });
    expect(await psql("SELECT count(*) FROM visits_visit WHERE user_agent = 'e2e-v2'")).toBe("1\n");
  });

  it("migrate --plan in v3's image shows the RemoveField v2's replicas would break on", async () => {
    const plan = await manage("v3", "migrate", "--plan");
    expect(plan).toMatch(/visits\.0003_remove_visit_user_agent\n\s+Remove field user_agent from visit/);
    expect(plan).not.toMatch(/0002/);
    const sql = await manage("v3", "sqlmigrate", "visits", "0003");
    expect(sql).toMatch(/ALTER TABLE "visits_visit" DROP COLUMN "user_agent"/);
    // Planning applied nothing: the column is still there.
    expect(
      await psql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'user_agent'"),
    ).toBe("1\n");
  });

  it("unapplies v2's migration, so the hooks below start from 0001 with v1 serving", async () => {
    const out = await manage("v2", "migrate", "visits", "0001", "--noinput");
    expect(out).toMatch(/Unapplying visits\.0002_visit_user_agent\.\.\. OK/);
    const { schema } = await snapshot();
    expect(schema).toMatch(/ \| 0001_initial$/);
    expect(schema).not.toMatch(/user_agent/);
    expect((await visit()).release).toBe("v1");
  });
});

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
