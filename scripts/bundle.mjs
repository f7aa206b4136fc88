// `npm run build:bundle`: removes the previous bundle's chunks (their names carry hashes), then
// runs rolldown with rolldown.config.mjs over what tsc emitted into dist/.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "rolldown";
import config from "../rolldown.config.mjs";

const out = join(import.meta.dirname, "..", "dist", "cli");
for (const f of readdirSync(out)) if (/^bundle(-.*)?\.js$/.test(f)) rmSync(join(out, f));
await build(config);
