import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  describe as describeFindings,
  type Finding,
  judge,
  MigrationPlanError,
  migrateCommand,
  needsSql,
  type OperationKind,
  type PlannedMigration,
  type PlannedOperation,
  parsePlan,
  sqlKey,
} from "./gate.js";
import { judgeSql, KINDS } from "./gate-rules.js";

// Real Django 3.2 + PostgreSQL 15 output, written by fixtures/gen/make-fixtures.sh.
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const SQL: Record<string, string> = Object.fromEntries(
  readdirSync(FIXTURES)
    .filter((f) => f.startsWith("sqlmigrate-"))
    .map((f) => [f.slice("sqlmigrate-".length, -".txt".length), fixture(f)]),
);

describe("migrateCommand", () => {
  const plan = (argv: string[]) => migrateCommand(argv)?.plan;

  it.each([
    [
      ["manage.py", "migrate", "--noinput"],
      ["manage.py", "migrate", "--plan"],
    ],
    [
      ["./manage.py", "migrate", "--no-input"],
      ["./manage.py", "migrate", "--plan"],
    ],
    [
      ["/app/manage.py", "migrate"],
      ["/app/manage.py", "migrate", "--plan"],
    ],
    [
      ["python3", "manage.py", "migrate", "--noinput"],
      ["python3", "manage.py", "migrate", "--plan"],
    ],
    [
      ["python3.11", "-u", "-W", "ignore", "manage.py", "migrate", "--skip-checks", "-v", "2"],
      ["python3.11", "-u", "-W", "ignore", "manage.py", "migrate", "--plan"],
    ],
    [
      ["/usr/local/bin/python", "-uB", "manage.py", "migrate"],
      ["/usr/local/bin/python", "-uB", "manage.py", "migrate", "--plan"],
    ],
    [
      ["django-admin", "migrate", "--settings", "site.prod", "--noinput"],
      ["django-admin", "migrate", "--plan", "--settings=site.prod"],
    ],
    [
      ["python", "-m", "django", "migrate", "--settings=site.prod", "--pythonpath", "/app", "-v2"],
      ["python", "-m", "django", "migrate", "--plan", "--settings=site.prod", "--pythonpath=/app"],
    ],
    [
      ["python3", "manage.py", "migrate", "visits", "0003", "--database", "replica", "--verbosity=3"],
      ["python3", "manage.py", "migrate", "--plan", "--database=replica", "visits", "0003"],
    ],
    [
      ["manage.py", "migrate", "visits", "--fake-initial"],
      ["manage.py", "migrate", "--plan", "visits"],
    ],
  ])("%j plans as %j", (argv, expected) => {
    expect(plan(argv)).toEqual(expected);
  });

  it("runs sqlmigrate with the same program, settings and database", () => {
    const cmd = migrateCommand([
      "python3",
      "-u",
      "manage.py",
      "migrate",
      "--noinput",
      "--settings=s",
      "--database",
      "d",
    ]);
    expect(cmd?.sqlmigrate("visits", "0003_remove_visit_user_agent")).toEqual([
      "python3",
      "-u",
      "manage.py",
      "sqlmigrate",
      "--settings=s",
      "--database=d",
      "visits",
      "0003_remove_visit_user_agent",
    ]);
  });

  it.each([
    [[]],
    [["manage.py"]],
    [["manage.py", "collectstatic", "--noinput"]],
    [["manage.py", "--settings=s", "migrate"]], // Django itself takes the subcommand first
    [["python3", "app.py", "migrate"]],
    [["python3", "-c", "import django", "migrate"]],
    [["python3", "-m", "gunicorn", "migrate"]],
    [["sh", "-c", "python manage.py migrate"]],
    [["gunicorn", "site.wsgi"]],
    [["manage.py", "migrate", "--fake"]], // records migrations without running them
    [["manage.py", "migrate", "--plan"]],
    [["manage.py", "migrate", "--check"]],
    [["manage.py", "migrate", "--settings"]], // no value
    [["manage.py", "migrate", "a", "b", "c"]],
  ])("%j is not a migrate hook", (argv) => {
    expect(migrateCommand(argv)).toBeUndefined();
  });
});

describe("parsePlan on real Django 3.2 output", () => {
  it("skips the system-check warnings before the header and reads every migration", () => {
    const plan = parsePlan(fixture("plan-forward.txt"));
    expect(plan.map((m) => m.name)).toEqual(
      readdirSync(join(FIXTURES, "gen/catalog/migrations"))
        .filter((f) => /^0\d+_.*\.py$/.test(f) && f !== "0001_initial.py")
        .map((f) => f.slice(0, -3))
        .sort(),
    );
    expect(plan[0]).toEqual({
      app: "catalog",
      name: "0002_create_review",
      operations: [
        {
          text: "Create model Review",
          kind: "CreateModel",
          undo: false,
          describe: "Create model Review",
          names: ["Review"],
        },
        {
          text: "Create proxy model BookProxy",
          kind: "CreateModel",
          undo: false,
          describe: "Create proxy model BookProxy",
          names: ["BookProxy"],
        },
      ],
    });
  });

  it("shows every Django 3.2 operation kind in the fixtures, none unknown", () => {
    const kinds = new Set(
      parsePlan(fixture("plan-forward.txt")).flatMap((m) => m.operations.map((o) => o.kind)),
    );
    const django = KINDS.map((k) => k.kind).filter((k) => k !== "RemoveIndexConcurrently");
    expect([...kinds].sort()).toEqual([...new Set(django)].sort());
  });

  it("keeps RunSQL's truncated SQL and RunPython's docstring after ' -> '", () => {
    const ops = parsePlan(fixture("plan-forward.txt")).flatMap((m) => m.operations);
    const raw = ops.filter((o) => o.kind === "RunSQL" || o.kind === "RunPython");
    expect(raw.map((o) => [o.kind, o.detail])).toEqual([
      ["RunSQL", "UPDATE catalog_book SET subtitle = …"],
      ["RunSQL", "ANALYZE catalog_book"],
      ["RunPython", "Give every book a stock of one.    …"],
      ["RunPython", undefined],
    ]);
  });

  it("reads a backwards plan: Undo and IRREVERSIBLE", () => {
    const plan = parsePlan(fixture("plan-backwards.txt"));
    expect(plan.map((m) => m.name)).toEqual([
      "0026_concurrent_index",
      "0025_mixed",
      "0024_separate",
      "0023_run_python",
      "0022_raw_sql",
    ]);
    const ops = plan.flatMap((m) => m.operations);
    expect(ops.filter((o) => o.undo).map((o) => o.kind)).toEqual([
      "AddIndexConcurrently",
      "AddField",
      "AlterField",
      "SeparateDatabaseAndState",
    ]);
    expect(ops.filter((o) => o.detail === "IRREVERSIBLE").map((o) => o.kind)).toEqual([
      "RunPython",
      "RunSQL",
    ]);
  });

  it("reads an empty plan and a plan to a target", () => {
    expect(parsePlan(fixture("plan-empty.txt"))).toEqual([]);
    expect(parsePlan(fixture("plan-target.txt")).map(sqlKey)).toEqual([
      "catalog.0002_create_review",
      "catalog.0003_book_subtitle",
      "catalog.0004_book_stock",
      "catalog.0005_book_isbn",
    ]);
  });

  it("reads coloured CRLF output as a terminal gives it", () => {
    const tty = fixture("plan-target.txt")
      .split("\n")
      .map((l) => (l.startsWith("catalog.") ? `\x1b[36;1m${l}\x1b[0m` : l))
      .join("\r\n");
    expect(parsePlan(tty)).toEqual(parsePlan(fixture("plan-target.txt")));
  });

  it("without the header, throws a named refusal quoting the first lines", () => {
    const output =
      '\nTraceback (most recent call last):\n  File "manage.py", line 22\nImportError: no psycopg2\n';
    expect(() => parsePlan(output)).toThrow(MigrationPlanError);
    expect(() => parsePlan(output)).toThrow(/> Traceback[\s\S]*> ImportError: no psycopg2/);
    expect(() => parsePlan("")).toThrow(/nothing at all/);
  });

  it("keeps a stray line after the header as an operation it cannot judge", () => {
    const plan = parsePlan("Planned operations:\ncatalog.0002_x\n    Add field a to b\nsomething else\n");
    expect(plan[0]?.operations.map((o) => [o.text, o.kind])).toEqual([
      ["Add field a to b", "AddField"],
      ["something else", "Unknown"],
    ]);
    expect(() => parsePlan("Planned operations:\n    Add field a to b\n")).toThrow(MigrationPlanError);
  });
});

describe("judge on real Django 3.2 + PostgreSQL 15 output", () => {
  const plan = parsePlan(fixture("plan-forward.txt"));
  const findings = judge(plan, SQL);
  const verdicts = (migration: string) =>
    findings.filter((f) => f.migration === `catalog.${migration}`).map((f) => [f.operation, f.verdict]);

  it("asks for sqlmigrate only for AddField and AlterField", () => {
    const asked = plan.filter((m) => m.operations.some(needsSql)).map((m) => m.name);
    expect(asked).toEqual([
      "0003_book_subtitle",
      "0004_book_stock",
      "0005_book_isbn",
      "0006_book_editor_tags",
      "0007_alter_book_pages",
      "0008_alter_book_summary",
      "0009_alter_book_status",
      "0010_alter_book_nickname",
      "0011_alter_book_title_code",
      "0025_mixed",
    ]);
  });

  it("passes what old replicas survive", () => {
    for (const m of [
      "0002_create_review", // CreateModel, proxy too
      "0003_book_subtitle", // nullable AddField
      "0006_book_editor_tags", // nullable foreign key, many-to-many table
      "0009_alter_book_status", // choices only: no SQL
      "0010_alter_book_nickname", // DROP NOT NULL
      "0011_alter_book_title_code", // CREATE INDEX, ADD CONSTRAINT UNIQUE
      "0016_together",
      "0018_options_managers",
      "0019_indexes_constraints",
      "0020_remove_index_constraint",
      "0026_concurrent_index",
    ])
      expect(verdicts(m), m).toEqual([]);
  });

  it.each([
    ["0004_book_stock", "Add field stock to book", /adds NOT NULL stock and drops its default/],
    ["0005_book_isbn", "Add field isbn to book", /adds NOT NULL isbn and drops its default/],
    ["0007_alter_book_pages", "Alter field pages on book", /changes pages to bigint/],
    ["0008_alter_book_summary", "Alter field summary on book", /makes summary NOT NULL/],
    ["0012_rename_book_code_sku", "Rename field code on book to sku", /still read code, not sku/],
    ["0013_remove_book_blurb", "Remove field blurb from book", /old replicas still read blurb/],
    ["0014_rename_shelf_rack", "Rename model Shelf to Rack", /renames Shelf's table/],
    ["0015_alter_rack_table", "Rename table for rack to catalog_racks", /renames rack's table/],
    ["0017_chapter_order", "Set order_with_respect_to on chapter to book", /adds NOT NULL chapter._order/],
    ["0021_delete_coupon", "Delete model Coupon", /drops Coupon's table/],
    ["0025_mixed", "Alter field name on author", /changes name to varchar\(200\)/],
  ])("refuses %s: %s", (migration, operation, why) => {
    const f = findings.filter((x) => x.migration === `catalog.${migration}`);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ operation, verdict: "breaking", why: expect.stringMatching(why) });
  });

  it("cannot judge raw SQL, Python code or SeparateDatabaseAndState", () => {
    expect([
      ...verdicts("0022_raw_sql"),
      ...verdicts("0023_run_python"),
      ...verdicts("0024_separate"),
    ]).toEqual([
      ["Raw SQL operation -> UPDATE catalog_book SET subtitle = …", "unjudgeable"],
      ["Raw SQL operation -> ANALYZE catalog_book", "unjudgeable"],
      ["Raw Python operation -> Give every book a stock of one.    …", "unjudgeable"],
      ["Raw Python operation", "unjudgeable"],
      ["Custom state/database change combination", "unjudgeable"],
    ]);
    expect(
      findings.filter((f) => f.verdict === "unjudgeable").every((f) => f.why.startsWith("cannot judge")),
    ).toBe(true);
  });

  it("agrees with the SQL for the kinds it judges from the plan alone", () => {
    const sqlOf = (m: string) => judgeSql(SQL[`catalog.${m}`] ?? "").verdict;
    for (const m of ["0012_rename_book_code_sku", "0013_remove_book_blurb", "0014_rename_shelf_rack"])
      expect(sqlOf(m), m).toBe("breaking");
    for (const m of ["0015_alter_rack_table", "0017_chapter_order", "0021_delete_coupon"])
      expect(sqlOf(m), m).toBe("breaking");
    for (const m of [
      "0002_create_review",
      "0016_together",
      "0018_options_managers",
      "0019_indexes_constraints",
    ])
      expect(sqlOf(m), m).toBe("safe");
    expect(sqlOf("0020_remove_index_constraint")).toBe("safe");
    expect(sqlOf("0026_concurrent_index")).toBe("safe");
  });

  it("cannot judge unapplying, and calls IRREVERSIBLE by name", () => {
    const back = judge(parsePlan(fixture("plan-backwards.txt")), {});
    expect(back.every((f) => f.verdict === "unjudgeable")).toBe(true);
    expect(back).toHaveLength(8);
    expect(back.filter((f) => f.why.includes("IRREVERSIBLE"))).toHaveLength(2);
  });

  it("cannot judge AddField/AlterField without their SQL, or when the SQL does not match the plan", () => {
    const subtitle = plan.filter((m) => m.name === "0003_book_subtitle");
    expect(judge(subtitle, {})).toEqual([
      {
        migration: "catalog.0003_book_subtitle",
        operation: "Add field subtitle to book",
        verdict: "unjudgeable",
        why: "cannot judge without sqlmigrate catalog 0003_book_subtitle",
      },
    ]);
    const wrong = judge(subtitle, { "catalog.0003_book_subtitle": SQL["catalog.0004_book_stock"] ?? "" });
    expect(wrong.map((f) => f.why)).toEqual(["cannot judge: sqlmigrate's output does not show it"]);
  });

  it("says one line per finding", () => {
    const lines = describeFindings(findings);
    expect(lines).toHaveLength(findings.length);
    expect(lines).toContain(
      "catalog.0013_remove_book_blurb: Remove field blurb from book — old replicas still read blurb",
    );
  });
});

describe("judgeSql rules beyond the fixtures", () => {
  // Not Django 3.2 output: shapes other versions or hand-written SQL produce.
  it.each([
    ['ALTER TABLE "t" ADD COLUMN "c" integer DEFAULT 0 NOT NULL;', "safe"], // Django 5 db_default: it stays
    ['ALTER TABLE "t" ADD COLUMN "c" integer NOT NULL;', "breaking"],
    ['ALTER TABLE "t" ADD COLUMN "c" varchar(9) DEFAULT \'NOT NULL\' NULL;', "safe"],
    ['ALTER TABLE "t" ALTER COLUMN "c" SET DEFAULT 1;', "safe"],
    [
      'ALTER TABLE "t" ALTER COLUMN "c" TYPE numeric(10, 2) USING "c"::numeric(10, 2), ALTER COLUMN "c" SET NOT NULL;',
      "breaking",
    ],
    ['ALTER TABLE "t" ALTER COLUMN "c" DROP NOT NULL, ALTER COLUMN "c" SET STATISTICS 100;', "unjudgeable"],
    ['ALTER TABLE "t" DROP COLUMN "c" CASCADE;', "breaking"],
    ["VACUUM t;", "unjudgeable"],
    ['VACUUM t; ALTER TABLE "t" RENAME COLUMN "a" TO "b";', "breaking"],
    ["", "safe"],
  ])("%s → %s", (sql, verdict) => {
    expect(judgeSql(sql).verdict).toBe(verdict);
  });
});

// ---- property tests: a printer that writes plans the way Django's describe_operation does ----

const ident = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
type Spec = { kind: OperationKind; names: string[]; proxy?: boolean; expr?: boolean; text?: string };

/** Operation.describe() of Django 3.2, per kind. */
function djangoDescribe(s: Spec): string {
  const [a, b, c] = s.names;
  const table: Partial<Record<OperationKind, string>> = {
    CreateModel: `Create ${s.proxy ? "proxy " : ""}model ${a}`,
    DeleteModel: `Delete model ${a}`,
    RenameModel: `Rename model ${a} to ${b}`,
    AlterModelTable: `Rename table for ${a} to ${b}`,
    AlterUniqueTogether: `Alter unique_together for ${a} (${b} constraint(s))`,
    AlterIndexTogether: `Alter index_together for ${a} (${b} constraint(s))`,
    AlterOrderWithRespectTo: `Set order_with_respect_to on ${a} to ${b}`,
    AlterModelOptions: `Change Meta options on ${a}`,
    AlterModelManagers: `Change managers on ${a}`,
    AddIndex: s.expr
      ? `Create index ${a} on ${b} on model ${c}`
      : `Create index ${a} on field(s) ${b} of model ${c}`,
    RemoveIndex: `Remove index ${a} from ${b}`,
    AddConstraint: `Create constraint ${a} on model ${b}`,
    RemoveConstraint: `Remove constraint ${a} from model ${b}`,
    AddField: `Add field ${a} to ${b}`,
    RemoveField: `Remove field ${a} from ${b}`,
    AlterField: `Alter field ${a} on ${b}`,
    RenameField: `Rename field ${a} on ${b} to ${c}`,
    RunSQL: "Raw SQL operation",
    RunPython: "Raw Python operation",
    SeparateDatabaseAndState: "Custom state/database change combination",
    AddIndexConcurrently: `Concurrently create index ${a} on field(s) ${b} of model ${c}`,
    RemoveIndexConcurrently: `Concurrently remove index ${a} from ${b}`,
  };
  return table[s.kind] ?? (s.text as string);
}

const ARITY: Record<string, number> = {
  RenameModel: 2,
  RemoveIndex: 2,
  AddConstraint: 2,
  RemoveConstraint: 2,
};
for (const k of ["AddField", "RemoveField", "AlterField", "RemoveIndexConcurrently"]) ARITY[k] = 2;
for (const k of ["AddIndex", "RenameField", "AddIndexConcurrently"]) ARITY[k] = 3;
for (const k of ["RunSQL", "RunPython", "SeparateDatabaseAndState"]) ARITY[k] = 0;

const fieldList = fc.array(ident, { minLength: 1, maxLength: 3 }).map((f) => f.join(", "));
const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.constantFrom(...new Set(KINDS.map((k) => k.kind))).chain((kind): fc.Arbitrary<Spec> => {
    if (kind === "AlterModelTable")
      return fc.tuple(ident, fc.oneof(ident, fc.constant("(default)"))).map((n) => ({ kind, names: n }));
    if (kind === "AlterUniqueTogether" || kind === "AlterIndexTogether")
      return fc.tuple(ident, fc.nat(9).map(String)).map((n) => ({ kind, names: n }));
    if (kind === "AlterOrderWithRespectTo")
      return fc.tuple(ident, fc.oneof(ident, fc.constant("None"))).map((n) => ({ kind, names: n }));
    if (kind === "CreateModel")
      return fc.tuple(ident, fc.boolean()).map(([m, proxy]) => ({ kind, names: [m], proxy }));
    if (kind === "AddIndex" || kind === "AddIndexConcurrently")
      return fc.tuple(ident, fieldList, ident, fc.boolean()).map(([i, f, m, expr]) => ({
        kind,
        names: [i, expr ? `Lower(F(${f}))` : f, m],
        expr: expr && kind === "AddIndex",
      }));
    return fc
      .array(ident, { minLength: ARITY[kind] ?? 1, maxLength: ARITY[kind] ?? 1 })
      .map((names) => ({ kind, names }));
  }),
  fc
    .constantFrom("Creates extension hstore", "Create collation nocase", "RenameIndex: (), {}")
    .map((text): Spec => ({ kind: "Unknown", names: [], text })),
);

/** Django's describe_operation: "Undo " or the code/SQL after " -> ", cut by Truncator.chars(40). */
function printOp(s: Spec, backwards: boolean, code: string | null): PlannedOperation {
  const describe = djangoDescribe(s);
  const raw = s.kind === "RunSQL" || s.kind === "RunPython";
  let action = raw
    ? code === null
      ? backwards
        ? "IRREVERSIBLE"
        : undefined
      : code.replace(/\n/g, "")
    : "";
  if (action) action = ` -> ${action}`;
  if (action && action.length > 40) action = `${action.slice(0, 39)}…`;
  const undo = backwards && !raw;
  const text = (undo ? "Undo " : "") + describe + (action ?? "");
  const op: PlannedOperation = { text, kind: s.kind, undo, describe, names: s.names };
  if (action) op.detail = action.slice(4);
  return op;
}

function printPlan(noise: string[], plan: PlannedMigration[]): string {
  const body = plan.length
    ? plan.flatMap((m) => [`${m.app}.${m.name}`, ...m.operations.map((o) => `    ${o.text}`)])
    : ["  No planned migration operations."];
  return [...noise, "Planned operations:", ...body, ""].join("\n");
}

const code = fc.option(fc.string({ unit: "grapheme-ascii", maxLength: 60 }).filter((s) => !/[\r\n]/.test(s)));
const migrationArb = (backwards: boolean) =>
  fc.record({
    app: ident,
    name: fc.stringMatching(/^\d{4}_[a-z0-9_]{1,20}$/),
    operations: fc.array(
      fc.tuple(spec, code).map(([s, c]) => printOp(s, backwards, c)),
      { maxLength: 5 },
    ),
  });
const noise = fc.array(
  fc
    .string({ maxLength: 40 })
    .filter((s) => !s.split(/\r?\n|\r/).some((l) => l.trim() === "Planned operations:")),
  { maxLength: 4 },
);

describe("parsePlan properties", () => {
  it("round-trips any plan Django could print, forwards or backwards, after any noise", () => {
    fc.assert(
      fc.property(
        fc.boolean().chain((b) => fc.array(migrationArb(b), { maxLength: 5 })),
        noise,
        (plan, junk) => {
          expect(parsePlan(printPlan(junk, plan))).toEqual(plan);
        },
      ),
    );
  });

  it("on any input at all, parses or throws MigrationPlanError; judge never throws", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (out, sql) => {
        let plan: PlannedMigration[];
        try {
          plan = parsePlan(out);
        } catch (err) {
          expect(err).toBeInstanceOf(MigrationPlanError);
          return;
        }
        const findings: Finding[] = judge(plan, Object.fromEntries(plan.map((m) => [sqlKey(m), sql])));
        for (const f of findings) expect(["breaking", "unjudgeable"]).toContain(f.verdict);
      }),
    );
  });

  it("finds nothing in a safe kind, and exactly one finding in any other operation", () => {
    const SAFE = new Set<OperationKind>([
      "CreateModel",
      "AlterUniqueTogether",
      "AlterIndexTogether",
      "AlterModelOptions",
      "AlterModelManagers",
      "AddIndex",
      "RemoveIndex",
      "AddConstraint",
      "RemoveConstraint",
      "AddIndexConcurrently",
      "RemoveIndexConcurrently",
    ]);
    fc.assert(
      fc.property(
        fc.boolean().chain((b) => fc.array(migrationArb(b), { maxLength: 5 })),
        (plan) => {
          const ops = plan.flatMap((m) => m.operations);
          const flagged = ops.filter((o) => o.undo || !SAFE.has(o.kind));
          expect(judge(plan, {}).map((f) => f.operation)).toEqual(flagged.map((o) => o.text));
        },
      ),
    );
  });
});
