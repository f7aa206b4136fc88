// Downloads one wheel from a Python package index into a directory and prints its path. It stands in
// for `pip download` in scripts/provision and images/build, so a bare Debian with only Node and npm
// needs no pip: a wheel is a zip, `unzip` (Debian's) opens it. Reads the index's simple API, the one
// pip reads (PEP 691 JSON, or PEP 503 HTML from a mirror without it), which names every file with its
// sha256; a download that does not match it is never kept. Node >= 18 (global fetch).
// Usage:  node images/pypi-wheel.mjs NAME==VERSION TAG_REGEX DIR
//   TAG_REGEX is matched against the wheel's "python-abi-platform" tags: "^py3-none-any$" for pure
//   Python, "manylinux.*_x86_64" for a Linux binary. Index: $PIP_INDEX_URL, else https://pypi.org/simple/.
//   Behind a proxy run it with NODE_USE_ENV_PROXY=1 (Node >= 22.21) so fetch honours HTTPS_PROXY.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

const ATTEMPTS = 3;
const TIMEOUT_MS = 10 * 60_000; // a whole download, body included: 50 MB on a slow link

function fail(message, code = 1) {
  console.error(`pypi-wheel: ${message}`);
  process.exit(code);
}

const [pin, tagPattern, dir] = process.argv.slice(2);
const parsed = /^([A-Za-z0-9._-]+)==([^=\s]+)$/.exec(pin ?? "");
if (!parsed || !tagPattern || !dir) fail("usage: node pypi-wheel.mjs NAME==VERSION TAG_REGEX DIR", 2);
const [, name, version] = parsed;
const normal = (s) => s.toLowerCase().replace(/[-_.]+/g, "-"); // PEP 503 name normalisation
const tags = new RegExp(tagPattern);
const index = new URL((process.env.PIP_INDEX_URL || "https://pypi.org/simple/").replace(/\/?$/, "/"));

// Runs one HTTP exchange, retrying network errors and 5xx answers (not 4xx: those will not change).
async function withRetries(url, exchange) {
  for (let attempt = 1; ; attempt++) {
    let why;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: exchange.headers });
      if (res.ok) return await exchange.read(res);
      why = `HTTP ${res.status}`;
      if (res.status < 500) fail(`${url}: ${why}`);
    } catch (e) {
      why = e.cause?.message ?? e.message;
    }
    if (attempt === ATTEMPTS) fail(`${url}: ${why} (after ${ATTEMPTS} attempts)`);
    await new Promise((resolve) => setTimeout(resolve, 2000 * attempt));
  }
}

// The project's files as { filename, url, sha256, yanked }.
async function listFiles() {
  const page = new URL(`${normal(name)}/`, index);
  return withRetries(page, {
    headers: { accept: "application/vnd.pypi.simple.v1+json, text/html;q=0.1" },
    async read(res) {
      if ((res.headers.get("content-type") ?? "").includes("json")) {
        return (await res.json()).files.map((f) => ({
          filename: f.filename,
          url: new URL(f.url, page),
          sha256: f.hashes?.sha256,
          yanked: Boolean(f.yanked),
        }));
      }
      const html = await res.text();
      return [...html.matchAll(/<a\s([^>]*)>([^<]+)<\/a>/g)].map(([, attrs, text]) => {
        const href = /href="([^"]+)"/.exec(attrs)?.[1]?.replaceAll("&amp;", "&") ?? "";
        const url = new URL(href, page);
        return {
          filename: text.trim(),
          url,
          sha256: /^#sha256=([0-9a-f]{64})$/.exec(url.hash)?.[1],
          yanked: /data-yanked/.test(attrs),
        };
      });
    },
  });
}

// name-version[-build]-python-abi-platform.whl
function matches(filename) {
  if (!filename.endsWith(".whl")) return false;
  const parts = filename.slice(0, -4).split("-");
  if (parts.length !== 5 && parts.length !== 6) return false;
  return normal(parts[0]) === normal(name) && parts[1] === version && tags.test(parts.slice(-3).join("-"));
}

async function sha256Of(path) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest("hex");
}

const all = await listFiles();
const candidates = all
  .filter((f) => matches(f.filename) && !f.yanked)
  .sort((a, b) => (a.filename < b.filename ? -1 : 1));
if (candidates.length === 0) {
  const wheels = all.filter((f) => f.filename.endsWith(".whl") && f.filename.includes(`-${version}-`));
  fail(
    `no wheel of ${pin} matches /${tagPattern}/ (${wheels.map((f) => f.filename).join(", ") || "no wheels of that version"})`,
  );
}
const wheel = candidates[0];
if (!wheel.sha256) fail(`the index names no sha256 for ${wheel.filename}: refusing an unverifiable download`);

const dest = join(dir, wheel.filename);
if (!(existsSync(dest) && (await sha256Of(dest)) === wheel.sha256)) {
  const part = `${dest}.${process.pid}.part`;
  process.on("exit", () => rmSync(part, { force: true })); // a failed or cut download leaves nothing
  const got = await withRetries(wheel.url, {
    async read(res) {
      const hash = createHash("sha256");
      const tee = async function* (source) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      };
      await pipeline(Readable.fromWeb(res.body), tee, createWriteStream(part));
      return hash.digest("hex");
    },
  });
  if (got !== wheel.sha256) {
    rmSync(part, { force: true });
    fail(`${wheel.filename}: sha256 ${got}, the index says ${wheel.sha256}`);
  }
  renameSync(part, dest);
}
console.log(dest);
