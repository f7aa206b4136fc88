// `npm run build:bundle` (after tsc): dist/cli/main.js and what it imports, bundled into
// dist/cli/bundle.js plus one chunk per lazily loaded command (bundle-*.js, beside it, so
// import.meta.url still means dist/cli/ to plugin.ts). The installed bin (cli/entry.ts) runs
// it instead of the ~300 separate modules tsc emits: issue 12, a command starts in ≤ 300 ms and
// < 80 MB. Left outside, loaded from dist/ at run time as they are now:
//   controller/errors.js   one copy of the error classes for both (exit codes use instanceof);
//   host/dial.js           it require()s the ssh modules lazily, relative to itself;
//   engine/dockerode.js    it stubs dockerode's unused dependencies through require.cache;
// and every package that is not pure ESM JavaScript worth inlining (dockerode, ssh2 with its
// native binding, ssh-config). All inside one split bundle, so --help still loads commander alone.
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "rolldown";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "dist");
const OUT = join(DIST, "cli");
const KEEP_OUT = ["controller/errors.js", "host/dial.js", "engine/dockerode.js"].map((f) => join(DIST, f));
const PACKAGES = ["dockerode", "ssh2", "ssh-config"];

export default defineConfig({
  input: { bundle: join(OUT, "main.js") },
  platform: "node",
  plugins: [
    {
      name: "compose-roll-externals",
      resolveId(source, importer) {
        if (!importer || !source.startsWith(".")) return null;
        const path = resolve(dirname(importer), source);
        if (!KEEP_OUT.includes(path)) return null;
        return { id: `./${relative(OUT, path)}`.replace(/^\.\/\.\./, ".."), external: true };
      },
    },
  ],
  external: (id) => PACKAGES.some((p) => id === p || id.startsWith(`${p}/`)),
  output: {
    dir: OUT,
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "bundle-[name]-[hash].js",
    // Whitespace and syntax only: names stay, so an unexpected error's stack still reads.
    minify: { compress: true, mangle: false, codegen: { removeWhitespace: true } },
    sourcemap: false,
  },
});
