// `npm run docs:gen`: writes docs/configuration.md, docs/exit-codes.md and README's exit-code
// table from the option and exit-code tables, through what tsc emitted into dist/ (no
// TypeScript loader needed).
// cli/docs.test.ts fails when the committed files differ from what this writes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const { generatedDocs } = await import(join(root, "dist", "cli", "docs.js"));
const readme = readFileSync(join(root, "README.md"), "utf8");
for (const [path, text] of Object.entries(generatedDocs(readme))) {
  writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
