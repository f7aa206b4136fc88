#!/usr/bin/env node
// The installed `compose-roll` (and `docker roll`) starts here. It checks the Node version
// BEFORE loading anything else: the rest needs Node 22.12+ (commander 15, require(esm),
// undici's zstd), and on an older Node it would die with a stack trace from deep inside a
// dependency. So this file uses only syntax an old Node parses, and imports the rest lazily.
import { statSync } from "node:fs";
import { setFlagsFromString } from "node:v8";

const NEED: [number, number] = [22, 12];
const parts = process.versions.node.split(".").map(Number);
const major = parts[0] || 0;
const minor = parts[1] || 0;
if (major < NEED[0] || (major === NEED[0] && minor < NEED[1])) {
  process.stderr.write(
    `compose-roll: needs Node.js ${NEED.join(".")} or newer, and this is ${process.version}` +
      "\n  what to do: install Node 22 LTS or newer (https://nodejs.org/en/download, or `nvm install 22`), or run the compose-roll container image\n",
  );
  process.exit(2);
}

// V8's memory for speed trade, set here so it holds however the bin is started (`compose-roll`,
// `node dist/cli/entry.js`, `docker roll`): compose-roll mostly waits on Docker and Traefik,
// and what runs hot is small. Issue 12 (RSS during a 6-replica rollout ≤ 80 MB):
// --no-opt --no-maglev: no optimizing compiler. Compiling pages in their code from the node
//   binary and fills compiler zones in the worker threads' malloc arenas: -10 MB at the peak.
// --semi-space-growth-factor=1: the young generation keeps its first size (1 MB a semi-space,
//   what --max-semi-space-size=1 would allow; that flag only counts when given to node
//   itself) instead of doubling up to 16 MB under the polling loops' garbage: -7 MB.
// Both are read by V8 while it runs (when a function turns hot, when a scavenge resizes), so
// setting them now, before the CLI's code loads, takes effect (cli/entry.test.ts checks).
setFlagsFromString("--no-opt --no-maglev --semi-space-growth-factor=1");

function fail(err: { message?: string; hint?: string }): void {
  process.stderr.write(`compose-roll: ${err.message}\n${err.hint ? `  what to do: ${err.hint}\n` : ""}`);
  process.exitCode = 2;
}

/**
 * The CLI to run: dist/cli/bundle.js (`npm run build`; rolldown.config.mjs), which starts in
 * about half the time and 12 MB less than the separate modules tsc emits, unless it is missing
 * or older than main.js (a `tsc`-only build since: then it would run yesterday's code).
 */
function cli(): Promise<{ run(argv: string[]): Promise<void> }> {
  const here = (f: string) => new URL(f, import.meta.url);
  try {
    if (statSync(here("./bundle.js")).mtimeMs >= statSync(here("./main.js")).mtimeMs)
      return import("./bundle.js" as string);
  } catch {
    // no bundle: the modules tsc emitted
  }
  return import("./main.js");
}

if (process.env.COMPOSE_ROLL_DOCKER_PLUGIN) {
  // Started by the docker CLI through the shim `compose-roll install-plugin` wrote.
  import("./plugin.js").then((p): Promise<unknown> | undefined => {
    const argv = process.argv.slice(2);
    if (argv[0] === "docker-cli-plugin-metadata") {
      process.stdout.write(`${JSON.stringify(p.metadata(), null, 2)}\n`);
      return undefined;
    }
    let call: ReturnType<typeof p.pluginArgs>;
    try {
      call = p.pluginArgs(argv);
    } catch (err) {
      fail(err as Error & { hint?: string });
      return undefined;
    }
    for (const [k, v] of Object.entries(call.env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete process.env.COMPOSE_ROLL_DOCKER_PLUGIN;
    process.argv = [process.argv[0] ?? "node", "docker roll", ...call.args];
    return cli().then((m) => m.run(process.argv));
  });
} else {
  cli().then((m) => m.run(process.argv));
}
