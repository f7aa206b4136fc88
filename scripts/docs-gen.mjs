// `npm run docs:gen`: writes docs/configuration.md and docs/exit-codes.md from the option and
// exit-code tables, through what tsc emitted into dist/ (no TypeScript loader needed).
// cli/docs.test.ts fails when the committed files differ from what this writes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const { generatedDocs } = await import(join(root, "dist", "cli", "docs.js"));
for (const [path, text] of Object.entries(generatedDocs())) {
  writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
