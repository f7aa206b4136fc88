// The Django demo on PostgreSQL (examples/demo) that pre-deploy hooks and the migration gate run
// against: real Traefik, 3 x the app, the database, and the migrations each release ships.
// Rolls nothing: it proves the stack and the releases' schemas are what those features assume.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose, type DemoStack, startDjangoDemo } from "../support/stack.js";

let stack: DemoStack;

beforeAll(async () => {
  stack = await startDjangoDemo("django"); // 3 x v1, migrated to 0001
});
afterAll(async () => {
  await stack?.down();
});

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

const psql = async (sql: string) =>
  (await compose(stack, ["exec", "-T", "db", "psql", "-X", "-tA", "-U", "demo", "-d", "demo", "-c", sql]))
    .stdout;

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
});
