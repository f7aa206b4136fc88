// Properties of write-back for the interpolation forms compose users write in `image:`:
// ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR, each with a
// fixed prefix and suffix around it. Whatever the ref, what is written makes compose
// interpolate the image to exactly that ref, and nothing else in the files changes.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import type { Project } from "./project.js";
import { applyWrites, imageSource, planWriteBack, setEnv } from "./writeback.js";

const variable = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/);
/** What goes into the variable: a tag or a whole ref, never blank, # or quotes. */
const value = fc.stringMatching(/^[a-z0-9][a-z0-9._/:-]{0,24}$/);
const prefix = fc.constantFrom("", "registry.example.com/shop/web:", "app:", "127.0.0.1:5000/app:v");
const suffix = fc.constantFrom("", "-slim", `@sha256:${"a".repeat(64)}`);
const form = fc.constantFrom(
  (v: string) => `\${${v}}`,
  (v: string) => `\${${v}:-app:v1}`,
  (v: string) => `\${${v}-app:v1}`,
  (v: string) => `\${${v}:?set ${v}}`,
  (v: string) => `\${${v}?set it}`,
  (v: string) => `$${v}`,
);
/** Other lines of the env file: comments, exports, quotes, blanks, secrets. */
const otherLine = fc.oneof(
  fc.constantFrom("# deploy settings", "", "export DEBUG=0", 'API_TOKEN="s3cr3t # not a comment"', "X='1'"),
  fc.stringMatching(/^[A-Z]{1,6}=[a-z0-9]{0,8}$/),
);

function project(compose: string, raw: string, env: string | undefined): Project {
  const dir = join(mkdtempSync(join(tmpdir(), "cr-wbp-")), "app");
  mkdirSync(dir);
  writeFileSync(join(dir, "compose.yaml"), compose);
  if (env !== undefined) writeFileSync(join(dir, ".env"), env);
  return {
    name: "app",
    dir,
    files: [join(dir, "compose.yaml")],
    envFiles: [join(dir, ".env")],
    services: {},
    args: { files: [join(dir, "compose.yaml")], envFiles: [], profiles: [] },
    rawImages: { web: raw },
  };
}

/** The value a dotenv text gives `name` (the last definition wins, as in compose). */
function envValue(text: string, name: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split("\n")) {
    const m = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=\\s*("[^"]*"|'[^']*'|[^\\s#]*)`).exec(line);
    if (m) found = (m[1] as string).replace(/^(["'])(.*)\1$/, "$2");
  }
  return found;
}

const cases = fc
  .record({
    name: variable,
    value,
    prefix,
    suffix,
    form,
    lines: fc.array(otherLine, { maxLength: 5 }),
    /** How the env file already defines it, if it does: quotes, export and comment are kept. */
    defined: fc.constantFrom(
      undefined,
      (n: string) => `${n}=old`,
      (n: string) => `export ${n}='old'`,
      (n: string) => `${n}="old" # pinned`,
    ),
  })
  // $VAR ends where a name character would continue it: compose reads `$TAG-slim` as $TAG.
  .filter((c) => !(c.form("X") === "$X" && /^[A-Za-z0-9_]/.test(c.suffix)))
  // The other lines must not define the variable themselves.
  .filter((c) => c.lines.every((l) => envValue(l, c.name) === undefined));

describe("write-back of an interpolated image", () => {
  it("finds the variable, writes exactly the ref's middle into it, and keeps every other line", () => {
    fc.assert(
      fc.property(cases, (c) => {
        const raw = `${c.prefix}${c.form(c.name)}${c.suffix}`;
        const compose = `services:\n  web:\n    image: "${raw}"\n`;
        const defined = c.defined?.(c.name);
        const env = [...c.lines, ...(defined ? [defined] : [])].join("\n");
        const p = project(compose, raw, env === "" ? undefined : `${env}\n`);
        expect(imageSource(p, "web")).toMatchObject({
          kind: "variable",
          variable: c.name,
          prefix: c.prefix,
          suffix: c.suffix,
        });
        const ref = `${c.prefix}${c.value}${c.suffix}`;
        applyWrites(planWriteBack(p, "web", ref, {}).writes);
        const after = readFileSync(p.envFiles[0] as string, "utf8");
        expect(envValue(after, c.name)).toBe(c.value);
        // Every other line survives byte for byte, in order.
        const others = after.split("\n").filter((l) => envValue(l, c.name) === undefined);
        expect(others.filter(Boolean)).toEqual(c.lines.filter(Boolean));
        expect(readFileSync(p.files[0] as string, "utf8")).toBe(compose);
        // A second write of the same ref changes nothing.
        expect(planWriteBack(p, "web", ref, {}).writes).toEqual([]);
        if (defined) expect(after).toContain(defined.replace("old", c.value));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a ref that does not fit the fixed parts, before writing anything", () => {
    fc.assert(
      fc.property(cases, value, (c, other) => {
        fc.pre(c.prefix !== "" && !other.startsWith(c.prefix));
        const raw = `${c.prefix}${c.form(c.name)}${c.suffix}`;
        const p = project(`services:\n  web:\n    image: "${raw}"\n`, raw, undefined);
        expect(() => planWriteBack(p, "web", other, {})).toThrow(RefusedError);
      }),
    );
  });

  it("setEnv is idempotent and touches only the variable's lines", () => {
    fc.assert(
      fc.property(fc.array(otherLine, { maxLength: 6 }), variable, value, (lines, name, v) => {
        fc.pre(lines.every((l) => envValue(l, name) === undefined));
        const text = lines.join("\n");
        const once = setEnv(text, name, v);
        expect(setEnv(once, name, v)).toBe(once);
        expect(envValue(once, name)).toBe(v);
        expect(once.startsWith(text)).toBe(true);
      }),
    );
  });

  it("is what docker compose itself then interpolates", () => {
    // Slower (one `docker compose config` per case): a few cases prove the model above is compose's.
    fc.assert(
      fc.property(cases, (c) => {
        const raw = `${c.prefix}${c.form(c.name)}${c.suffix}`;
        const p = project(`services:\n  web:\n    image: "${raw}"\n`, raw, `${c.lines.join("\n")}\n`);
        const ref = `${c.prefix}${c.value}${c.suffix}`;
        applyWrites(planWriteBack(p, "web", ref, {}).writes);
        const env = { PATH: process.env.PATH ?? "" };
        const out = execFileSync("docker", ["compose", "--project-directory", p.dir, "config", "--images"], {
          cwd: p.dir,
          env,
        });
        expect(String(out).trim()).toBe(ref);
      }),
      { numRuns: 8 },
    );
  });
});
