// The user's docs hold together: every relative link in README.md, CONTRIBUTING.md and
// docs/*.md names a file that exists and, with a #fragment, a heading in it (GitHub's
// anchors); the README stays short enough to read at once and keeps the two commands a
// newcomer (and CI, which runs "the README's test command") needs.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const README_MAX_LINES = 150;

/** The pages checked: README, CONTRIBUTING and every markdown page in docs/ (relative to ROOT). */
function pages(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`);
  return ["README.md", "CONTRIBUTING.md", ...docs.sort()];
}

/** Lines outside fenced code blocks: a link or a `#` inside a code sample is not markdown. */
function prose(md: string): string[] {
  let fence: string | undefined;
  const out: string[] = [];
  for (const line of md.split("\n")) {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m) {
      const mark = (m[1] as string).slice(0, 3);
      if (fence === undefined) fence = mark;
      else if (fence === mark) fence = undefined;
      continue;
    }
    if (fence === undefined) out.push(line);
  }
  return out;
}

/** GitHub's heading anchor: the rendered text, lowercased, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link shows its text
    .replace(/<[^>]+>/g, "") // inline HTML
    .replace(/[`*]/g, ""); // code and emphasis markers
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a page offers, numbered for repeats as GitHub does (`x`, `x-1`, `x-2`). */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(md)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The link targets of a page's prose: `[text](target)` and `![alt](target)`, titles dropped. */
function links(md: string): string[] {
  const out: string[] = [];
  for (const line of prose(md)) {
    // Inline code is not a link either: `[a](b)` in backticks is shown, not followed.
    const text = line.replace(/`[^`]*`/g, "");
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1] as string);
  }
  return out;
}

/**
 * What is wrong with one page's relative links: a missing file, or a #fragment no heading of
 * the target makes. `read` returns a file's text, or undefined when it does not exist.
 */
function brokenLinks(page: string, read: (path: string) => string | undefined): string[] {
  const md = read(page);
  if (md === undefined) return [`${page}: no such page`];
  const problems: string[] = [];
  for (const target of links(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: — not ours to check
    const [path = "", fragment] = target.split("#", 2);
    const file = path === "" ? page : join(dirname(page), decodeURIComponent(path));
    const text = read(file);
    if (text === undefined) {
      problems.push(`${page}: ${target} — no file ${file}`);
      continue;
    }
    if (fragment !== undefined && !anchors(text).has(decodeURIComponent(fragment).toLowerCase())) {
      problems.push(`${page}: ${target} — ${file} has no heading #${fragment}`);
    }
  }
  return problems;
}

/** Reads a file under ROOT; a directory counts as existing (empty), so links to folders work. */
function readRepo(path: string): string | undefined {
  const full = join(ROOT, path);
  if (relative(ROOT, full).startsWith("..") || !existsSync(full)) return undefined;
  try {
    return readFileSync(full, "utf8");
  } catch {
    return ""; // a directory
  }
}

describe("the docs' links", () => {
  it("finds a missing file, a missing heading and a missing page", () => {
    const files: Record<string, string> = {
      "README.md": [
        "# Title",
        "See [setup](docs/setup.md#first-steps), [gone](docs/gone.md),",
        "[here](#title), [nowhere](#no-such-heading) and [out](https://example.com/x.md).",
        "```",
        "[in a code block](docs/ignored.md)",
        "```",
      ].join("\n"),
      "docs/setup.md": "# Setup\n## First `steps`!\n",
    };
    const read = (p: string) => files[p];
    expect(brokenLinks("README.md", read)).toEqual([
      "README.md: docs/gone.md — no file docs/gone.md",
      "README.md: #no-such-heading — README.md has no heading #no-such-heading",
    ]);
    expect(brokenLinks("CONTRIBUTING.md", read)).toEqual(["CONTRIBUTING.md: no such page"]);
  });

  it("makes GitHub's anchors, repeats numbered", () => {
    expect(slug("How it stays at zero")).toBe("how-it-stays-at-zero");
    expect(slug("`compose-roll sync` — file mode")).toBe("compose-roll-sync--file-mode");
    expect(slug("Deploy hooks, the migration gate, warm-up and smoke")).toBe(
      "deploy-hooks-the-migration-gate-warm-up-and-smoke",
    );
    expect([...anchors("## Example\n### Example\n## Example\n")]).toEqual([
      "example",
      "example-1",
      "example-2",
    ]);
  });

  it.each(pages())("%s has no broken relative link", (page) => {
    expect(brokenLinks(page, readRepo)).toEqual([]);
  });
});

describe("the README", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  it(`is at most ${README_MAX_LINES} lines`, () => {
    expect(readme.trimEnd().split("\n").length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it("shows the demo and the test command in a code block", () => {
    const fenced = readme.split(/^```.*$/m).filter((_, i) => i % 2 === 1);
    const commands = fenced.flatMap((block) => block.split("\n").map((l) => l.replace(/#.*/, "").trim()));
    expect(commands).toContain("npm run demo");
    expect(commands).toContain("npm test");
  });
});

describe("the benchmark table", () => {
  // `npm run bench -- --docs` (bench/run.ts) rewrites what lies between these markers.
  it("sits in docs/evidence.md between its markers, as bench/results/latest.md has it", () => {
    const evidence = readFileSync(join(ROOT, "docs/evidence.md"), "utf8");
    const [start, end] = ["<!-- bench:start -->\n", "\n<!-- bench:end -->"];
    expect(evidence.split(start)).toHaveLength(2);
    expect(evidence.split(end)).toHaveLength(2);
    const table = evidence.slice(evidence.indexOf(start) + start.length, evidence.indexOf(end));
    expect(`${table}\n`).toBe(readFileSync(join(ROOT, "bench/results/latest.md"), "utf8"));
  });
});
