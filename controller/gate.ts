// The migration gate's pure core. Before a Django pre-deploy hook runs
// `manage.py migrate` in a one-off container of the NEW image, the OLD replicas still serve
// and keep serving until the rollout ends; a migration they cannot live with fails their
// requests. So compose-roll first runs the hook as `migrate --plan` (and `sqlmigrate` where
// the plan alone cannot tell) and refuses on any finding. Expand/contract: a release may only
// expand the schema; what it stops using is contracted in the next one.
//   safe        CreateModel, AlterUniqueTogether, AlterIndexTogether, AlterModelOptions,
//               AlterModelManagers, AddIndex, RemoveIndex, AddConstraint, RemoveConstraint,
//               (contrib.postgres) AddIndexConcurrently, RemoveIndexConcurrently
//   breaking    DeleteModel, RenameModel, AlterModelTable, AlterOrderWithRespectTo,
//               RemoveField, RenameField
//   by its SQL  AddField: NOT NULL without a lasting DEFAULT → breaking, else safe;
//               AlterField: TYPE, SET NOT NULL, RENAME, DROP COLUMN → breaking; DROP NOT NULL,
//               SET/DROP DEFAULT, indexes, constraints, no SQL at all → safe
//   unjudgeable RunSQL, RunPython, SeparateDatabaseAndState, unknown kinds, any "Undo …"
// docs/migration-gate.md has the reasoning and the two-release way for each refused kind.
// Pure: the caller runs the commands and hands over their output.
import { RefusedError } from "./errors.js";
import { judgeSql, KINDS, type OperationKind, type Rule, UNDO, UNKNOWN } from "./gate-rules.js";

export type { OperationKind } from "./gate-rules.js";

export interface PlannedOperation {
  /** The line as `migrate --plan` printed it, its four-space indentation removed. */
  text: string;
  kind: OperationKind;
  /** A backwards plan's "Undo " (Django prints it on every kind but RunSQL and RunPython). */
  undo: boolean;
  /** What Operation.describe() returned: also the header sqlmigrate prints over its SQL. */
  describe: string;
  /** The names describe() shows, in its order (AddField: field, model). */
  names: string[];
  /** RunSQL/RunPython: what followed " -> ": SQL or docstring cut to 40 characters, or IRREVERSIBLE. */
  detail?: string;
}

export interface PlannedMigration {
  app: string;
  name: string;
  operations: PlannedOperation[];
}

export interface Finding {
  /** "app.0003_x" */
  migration: string;
  /** As --plan printed it. */
  operation: string;
  verdict: "breaking" | "unjudgeable";
  /** One short line: what breaks for old replicas, or why the gate cannot tell. */
  why: string;
}

export interface MigrateCommand {
  /** The hook as `migrate --plan`, keeping its app label and target. */
  plan: string[];
  /** `sqlmigrate <app> <name>` with the hook's program and settings/database options. */
  sqlmigrate(app: string, name: string): string[];
}

/** `migrate --plan` printed something without its header: the gate cannot judge, so it refuses. */
export class MigrationPlanError extends RefusedError {
  override name = "MigrationPlanError";
}

const base = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** Index just past the program that runs Django's commands, or -1. */
function programEnd(argv: string[]): number {
  const first = base(argv[0] ?? "");
  if (["manage.py", "django-admin", "django-admin.py"].includes(first)) return 1;
  if (!/^python(\d+(\.\d+)?)?$/.test(first)) return -1;
  let i = 1;
  for (;;) {
    const a = argv[i] ?? "";
    if (a === "-m") return argv[i + 1] === "django" ? i + 2 : -1;
    if (a === "-mdjango") return i + 1;
    if (a === "-W" || a === "-X") i += 2;
    else if (/^-[WX]./.test(a) || /^-[bBdEiIOqsSuvRP]+$/.test(a)) i++;
    else return base(a) === "manage.py" ? i + 1 : -1;
  }
}

/** The options the plan and sqlmigrate must share with the hook: they pick the settings and database. */
const SHARED = new Set(["--settings", "--pythonpath", "--database"]);

/**
 * Recognises a Django migrate hook and derives the commands the gate runs the same way; any
 * other command (or a migrate that changes no schema: --fake, --plan, --check) → undefined.
 * Other options (--noinput, --skip-checks, -v 2, --fake-initial …) are the hook's own.
 */
export function migrateCommand(argv: string[]): MigrateCommand | undefined {
  const at = programEnd(argv);
  if (at < 0 || argv[at] !== "migrate") return undefined;
  const prefix = argv.slice(0, at);
  const shared: string[] = [];
  const positional: string[] = [];
  for (let i = at + 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const takesValue = SHARED.has(flag) || flag === "-v" || flag === "--verbosity";
    const value = !takesValue ? undefined : eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (takesValue && value === undefined) return undefined;
    if (SHARED.has(flag)) shared.push(`${flag}=${value}`);
    else if (["--fake", "--plan", "--check"].includes(flag)) return undefined;
    else if (!arg.startsWith("-")) positional.push(arg);
  }
  if (positional.length > 2) return undefined;
  return {
    plan: [...prefix, "migrate", "--plan", ...shared, ...positional],
    sqlmigrate: (app, name) => [...prefix, "sqlmigrate", ...shared, app, name],
  };
}

/** Reads one operation line (indentation removed) the way describe_operation() wrote it. */
function parseOperation(text: string): PlannedOperation {
  const raw = /^(Raw (?:SQL|Python) operation) -> (.*)$/s.exec(text);
  const undo = !raw && text.startsWith("Undo ");
  const describe = raw ? (raw[1] as string) : undo ? text.slice(5) : text;
  const op: PlannedOperation = { text, kind: "Unknown", undo, describe, names: [] };
  if (raw) op.detail = raw[2];
  for (const { kind, pattern } of KINDS) {
    const m = pattern.exec(describe);
    if (m) return { ...op, kind, names: m.slice(1) };
  }
  return op;
}

// Django colours its output when it runs on a terminal (a one-off container with a tty).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is the point
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Parses `migrate --plan` output. Lines before "Planned operations:" (system-check warnings,
 * a container runtime's own) are skipped. After it, a line that is neither a migration nor an
 * indented operation is kept as an Unknown operation of the migration above it, so the gate
 * fails closed on it rather than overlooking an operation.
 */
export function parsePlan(output: string): PlannedMigration[] {
  const lines = output.replace(ANSI, "").split(/\r?\n|\r/);
  const header = lines.findIndex((l) => l.trim() === "Planned operations:");
  if (header < 0) {
    const shown = lines.filter((l) => l.trim() !== "").slice(0, 5);
    const quoted = shown.length ? shown.map((l) => `  > ${l}`).join("\n") : "  (nothing at all)";
    throw new MigrationPlanError(
      `migrate --plan printed no "Planned operations:" line, so the migration gate cannot judge it. It began:\n${quoted}`,
      "Run the plan command in the new image by hand to see what fails.",
    );
  }
  const plan: PlannedMigration[] = [];
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === "" || line === "  No planned migration operations.") continue;
    const migration = /^([A-Za-z_]\w*)\.(\S+)$/.exec(line);
    const current = plan.at(-1);
    if (migration) plan.push({ app: migration[1] as string, name: migration[2] as string, operations: [] });
    else if (current)
      current.operations.push(parseOperation(line.startsWith("    ") ? line.slice(4) : line.trim()));
    else throw new MigrationPlanError(`migrate --plan: an operation before any migration: ${line.trim()}`);
  }
  return plan;
}

/** The key of `judge()`'s sql record for a migration: "app.name". */
export const sqlKey = (m: PlannedMigration): string => `${m.app}.${m.name}`;

const rule = (op: PlannedOperation): Rule =>
  op.undo ? UNDO : (KINDS.find((k) => k.kind === op.kind)?.rule ?? UNKNOWN);

/** Whether the verdict needs `sqlmigrate` of the operation's migration. */
export function needsSql(op: PlannedOperation): boolean {
  return rule(op) === "sql";
}

/**
 * The SQL sqlmigrate printed under each operation's "-- <describe>" header, in plan order;
 * undefined from the first operation whose header is missing on.
 */
function sections(sql: string, ops: PlannedOperation[]): (string | undefined)[] {
  const lines = sql.split(/\r?\n/);
  const starts: number[] = [];
  let at = 0;
  for (const op of ops) {
    const found = lines.findIndex((l, i) => i >= at && l === `-- ${op.describe}` && lines[i + 1] === "--");
    if (found < 0) break;
    starts.push(found);
    at = found + 2;
  }
  return ops.map((_, i) => {
    const start = starts[i];
    return start === undefined ? undefined : lines.slice(start + 2, starts[i + 1] ?? lines.length).join("\n");
  });
}

/**
 * Everything in the plan old replicas may not survive. `sql` holds sqlmigrate's output by
 * sqlKey() for the migrations with an operation needsSql() says yes to.
 */
export function judge(plan: PlannedMigration[], sql: Record<string, string>): Finding[] {
  const findings: Finding[] = [];
  for (const m of plan) {
    const migration = sqlKey(m);
    const text = Object.hasOwn(sql, migration) ? sql[migration] : undefined;
    const parts = text === undefined ? [] : sections(text, m.operations);
    for (const [i, op] of m.operations.entries()) {
      const found = (verdict: Finding["verdict"], why: string) =>
        findings.push({ migration, operation: op.text, verdict, why });
      const r = rule(op);
      if (r === "safe") continue;
      if (r !== "sql") {
        if ("breaking" in r) found("breaking", r.breaking(op.names));
        else if (op.detail === "IRREVERSIBLE")
          found("unjudgeable", "cannot judge: IRREVERSIBLE, Django refuses to unapply it");
        else found("unjudgeable", r.unjudgeable);
        continue;
      }
      const part = parts[i];
      if (text === undefined) found("unjudgeable", `cannot judge without sqlmigrate ${m.app} ${m.name}`);
      else if (part === undefined) found("unjudgeable", "cannot judge: sqlmigrate's output does not show it");
      else {
        const v = judgeSql(part);
        if (v.verdict !== "safe") found(v.verdict, v.why);
      }
    }
  }
  return findings;
}

/** One line per finding, for the refusal message. */
export function describe(findings: Finding[]): string[] {
  return findings.map((f) => `${f.migration}: ${f.operation} — ${f.why}`);
}
