// The migration gate's rules: which Django 3.2 operation (as `migrate --plan` describes it)
// old replicas survive, and, for AddField/AlterField, what the SQL `sqlmigrate` prints for
// it does to them. Pure. docs/migration-gate.md gives the reasoning and the safe way round.

export type OperationKind =
  | "CreateModel"
  | "DeleteModel"
  | "RenameModel"
  | "AlterModelTable"
  | "AlterUniqueTogether"
  | "AlterIndexTogether"
  | "AlterOrderWithRespectTo"
  | "AlterModelOptions"
  | "AlterModelManagers"
  | "AddIndex"
  | "RemoveIndex"
  | "AddConstraint"
  | "RemoveConstraint"
  | "AddField"
  | "RemoveField"
  | "AlterField"
  | "RenameField"
  | "RunSQL"
  | "RunPython"
  | "SeparateDatabaseAndState"
  | "AddIndexConcurrently"
  | "RemoveIndexConcurrently"
  | "Unknown";

/** safe: no finding. sql: judged on what sqlmigrate prints for the operation. */
export type Rule = "safe" | "sql" | { breaking: (names: string[]) => string } | { unjudgeable: string };

/**
 * Operation.describe() of each kind in Django 3.2, and its verdict. `names` are the
 * pattern's groups in the order describe() prints them.
 */
export const KINDS: readonly { kind: OperationKind; pattern: RegExp; rule: Rule }[] = [
  { kind: "CreateModel", pattern: /^Create (?:proxy )?model (\S+)$/, rule: "safe" },
  {
    kind: "DeleteModel",
    pattern: /^Delete model (\S+)$/,
    rule: { breaking: ([m]) => `drops ${m}'s table, which old replicas still query` },
  },
  {
    kind: "RenameModel",
    pattern: /^Rename model (\S+) to (\S+)$/,
    rule: { breaking: ([m]) => `renames ${m}'s table: old replicas still query the old name` },
  },
  {
    kind: "AlterModelTable",
    pattern: /^Rename table for (\S+) to (.+)$/,
    rule: { breaking: ([m]) => `renames ${m}'s table: old replicas still query the old name` },
  },
  {
    kind: "AlterUniqueTogether",
    pattern: /^Alter unique_together for (\S+) \((\d+) constraint\(s\)\)$/,
    rule: "safe",
  },
  {
    kind: "AlterIndexTogether",
    pattern: /^Alter index_together for (\S+) \((\d+) constraint\(s\)\)$/,
    rule: "safe",
  },
  {
    kind: "AlterOrderWithRespectTo",
    pattern: /^Set order_with_respect_to on (\S+) to (.+)$/,
    rule: {
      breaking: ([m, to]) =>
        to === "None"
          ? `drops ${m}._order, which old replicas still write`
          : `adds NOT NULL ${m}._order without a lasting default: old replicas' INSERTs leave it out`,
    },
  },
  { kind: "AlterModelOptions", pattern: /^Change Meta options on (\S+)$/, rule: "safe" },
  { kind: "AlterModelManagers", pattern: /^Change managers on (\S+)$/, rule: "safe" },
  { kind: "AddIndex", pattern: /^Create index (\S+) on field\(s\) (.+) of model (\S+)$/, rule: "safe" },
  { kind: "AddIndex", pattern: /^Create index (\S+) on (.+) on model (\S+)$/, rule: "safe" },
  { kind: "RemoveIndex", pattern: /^Remove index (\S+) from (\S+)$/, rule: "safe" },
  { kind: "AddConstraint", pattern: /^Create constraint (\S+) on model (\S+)$/, rule: "safe" },
  { kind: "RemoveConstraint", pattern: /^Remove constraint (\S+) from model (\S+)$/, rule: "safe" },
  { kind: "AddField", pattern: /^Add field (\S+) to (\S+)$/, rule: "sql" },
  {
    kind: "RemoveField",
    pattern: /^Remove field (\S+) from (\S+)$/,
    rule: { breaking: ([f]) => `old replicas still read ${f}` },
  },
  { kind: "AlterField", pattern: /^Alter field (\S+) on (\S+)$/, rule: "sql" },
  {
    kind: "RenameField",
    pattern: /^Rename field (\S+) on (\S+) to (\S+)$/,
    rule: { breaking: ([f, , to]) => `old replicas still read ${f}, not ${to}` },
  },
  {
    kind: "RunSQL",
    pattern: /^Raw SQL operation$/,
    rule: { unjudgeable: "cannot judge raw SQL: check by hand what it does to old replicas" },
  },
  {
    kind: "RunPython",
    pattern: /^Raw Python operation$/,
    rule: { unjudgeable: "cannot judge Python code: check by hand what it does to old replicas" },
  },
  {
    kind: "SeparateDatabaseAndState",
    pattern: /^Custom state\/database change combination$/,
    rule: { unjudgeable: "cannot judge SeparateDatabaseAndState: its database side is hand-written" },
  },
  // django.contrib.postgres: the zero-downtime way to index a big table.
  {
    kind: "AddIndexConcurrently",
    pattern: /^Concurrently create index (\S+) on field\(s\) (.+) of model (\S+)$/,
    rule: "safe",
  },
  { kind: "RemoveIndexConcurrently", pattern: /^Concurrently remove index (\S+) from (\S+)$/, rule: "safe" },
];

export const UNKNOWN: Rule = { unjudgeable: "cannot judge an operation Django 3.2 does not define" };
export const UNDO: Rule = {
  unjudgeable: "cannot judge unapplying a migration: the gate judges forward plans",
};

export type SqlVerdict = { verdict: "safe" } | { verdict: "breaking" | "unjudgeable"; why: string };

/**
 * Judges the SQL sqlmigrate printed under one operation's header. Django defers index and
 * foreign-key creation to the end of the migration, so a section may also hold an earlier
 * operation's CREATE INDEX / ADD CONSTRAINT; both are safe, so that misattribution is harmless.
 * Any breaking statement wins over one it cannot judge; no SQL at all is safe.
 */
export function judgeSql(section: string): SqlVerdict {
  const actions = statements(section).flatMap(actionsOf);
  let unsure: SqlVerdict | undefined;
  for (const [i, action] of actions.entries()) {
    const v = judgeAction(action, actions.slice(i + 1));
    if (v.verdict === "breaking") return v;
    if (v.verdict === "unjudgeable") unsure ??= v;
  }
  return unsure ?? { verdict: "safe" };
}

const COL = '("[^"]+"|\\S+)';
/** ALTER TABLE actions but ADD COLUMN: no reason → safe, else breaking for that reason. */
const ALTER_TABLE: [RegExp, ((names: string[], table: string) => string) | undefined][] = [
  [/^(ADD|DROP) CONSTRAINT\b/i, undefined],
  [
    new RegExp(`^DROP COLUMN (?:IF EXISTS )?${COL}`, "i"),
    ([c]) => `drops ${c}, which old replicas still read`,
  ],
  [
    new RegExp(`^RENAME COLUMN ${COL} TO ${COL}`, "i"),
    ([a, b]) => `renames ${a} to ${b}: old replicas still use ${a}`,
  ],
  [/^RENAME TO\b/i, (_, t) => `renames table ${t}: old replicas still query it`],
  [
    new RegExp(`^ALTER COLUMN ${COL} (?:SET DATA )?TYPE (.+?)(?: USING .*)?$`, "is"),
    ([c, type]) => `changes ${c} to ${type}: old replicas expect the old type`,
  ],
  [
    new RegExp(`^ALTER COLUMN ${COL} SET NOT NULL$`, "i"),
    ([c]) => `makes ${c} NOT NULL: old replicas may still write NULL`,
  ],
  [new RegExp(`^ALTER COLUMN ${COL} (DROP NOT NULL|SET DEFAULT .+|DROP DEFAULT)$`, "is"), undefined],
];

/** One change: the table (unquoted) for ALTER TABLE actions, the action or whole statement. */
interface Action {
  table: string | undefined;
  text: string;
}

function judgeAction({ table, text }: Action, later: Action[]): SqlVerdict {
  const safe: SqlVerdict = { verdict: "safe" };
  const breaking = (why: string): SqlVerdict => ({ verdict: "breaking", why });
  if (table === undefined) {
    if (/^(CREATE (UNIQUE )?INDEX|DROP INDEX|CREATE TABLE|SET CONSTRAINTS)\b/i.test(text)) return safe;
    const drop = /^DROP TABLE (?:IF EXISTS )?(\S+)/i.exec(text);
    if (drop) return breaking(`drops table ${unquote(drop[1])}, which old replicas still query`);
    // Django's backfill before SET NOT NULL: touches only rows that are NULL.
    if (/^UPDATE ("[^"]+") SET ("[^"]+") = .+ WHERE \2 IS NULL$/s.test(text)) return safe;
    return { verdict: "unjudgeable", why: `cannot judge the SQL ${cut(text)}` };
  }
  const m = /^ADD COLUMN (?:IF NOT EXISTS )?("[^"]+"|\S+) (.*)$/is.exec(text);
  if (m) {
    const def = withoutStrings(m[2] ?? "");
    if (!/\bNOT NULL\b|\bPRIMARY KEY\b/i.test(def)) return safe;
    const c = unquote(m[1]);
    if (!/\bDEFAULT\b/i.test(def))
      return breaking(`adds NOT NULL ${c} without a default: old replicas' INSERTs leave it out`);
    const dropped = later.some(
      (a) =>
        a.table === table && new RegExp(`^ALTER COLUMN "?${escapeRe(c)}"? DROP DEFAULT$`, "i").test(a.text),
    );
    if (dropped)
      return breaking(`adds NOT NULL ${c} and drops its default: old replicas' INSERTs leave it out`);
    return safe;
  }
  for (const [pattern, why] of ALTER_TABLE) {
    const match = pattern.exec(text);
    if (match) return why ? breaking(why(match.slice(1).map(unquote), table)) : safe;
  }
  return { verdict: "unjudgeable", why: `cannot judge the SQL ALTER TABLE ${table} ${cut(text)}` };
}

/** Statements in sqlmigrate's output: comment lines dropped, split on `;` outside quotes. */
export function statements(sql: string): string[] {
  const text = sql
    .split(/\r?\n/)
    .filter((l) => !l.trimStart().startsWith("--"))
    .join("\n");
  return splitOutside(text, ";")
    .map((s) => s.trim())
    .filter((s) => s !== "" && !/^(BEGIN|COMMIT)$/i.test(s));
}

/** ALTER TABLE t a, b → its actions (PostgreSQL takes several, comma-separated); else the statement. */
function actionsOf(stmt: string): Action[] {
  const m = /^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?("(?:[^"]|"")+"|\S+)\s+(.*)$/is.exec(stmt);
  if (!m) return [{ table: undefined, text: stmt }];
  const table = unquote(m[1]);
  return splitOutside(m[2] ?? "", ",").map((text) => ({ table, text: text.trim() }));
}

/** Splits on `sep` where it is outside '…', "…" and parentheses. */
function splitOutside(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth = Math.max(0, depth - 1);
    else if (ch === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const withoutStrings = (s: string) => s.replace(/'(?:[^']|'')*'/g, "''");
const unquote = (s: string | undefined) => (s ?? "").replace(/^"(.*)"$/s, "$1").replaceAll('""', '"');
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const cut = (s: string) => {
  const one = s.replace(/\s+/g, " ");
  return one.length > 60 ? `${one.slice(0, 59)}…` : one;
};
