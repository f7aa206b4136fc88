// `npm run bench:healthcheck [-- --containers N] [-- --seconds S]`: what the demo web's own
// health checks cost the host. N containers of compose-roll-demo/app:v1 run with, in turn, no
// healthcheck, the urllib check the image used to ship, and the image's own (a bare socket); each
// is checked every second as the image declares. Host CPU busy (all cores, from /proc/stat) is
// sampled over S seconds once all are up. Prints figures (and the load average); asserts nothing.
import { readFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import Docker from "dockerode";

const { values } = parseArgs({
  options: {
    containers: { type: "string", default: "15" },
    seconds: { type: "string", default: "30" },
    image: { type: "string", default: "compose-roll-demo/app:v1" },
  },
});
const N = Number(values.containers);
const SECONDS = Number(values.seconds);
const LABEL = "compose-roll.bench=healthcheck";
const docker = new Docker();
const log = (s: string) => process.stderr.write(`bench:healthcheck: ${s}\n`);

const URLLIB = [
  "import sys, urllib.request",
  "try:",
  "    r = urllib.request.urlopen('http://127.0.0.1:8000/health/', timeout=2)",
  "    sys.exit(0 if 200 <= r.status < 300 else 1)",
  "except Exception as e:",
  "    print(f'unhealthy: {e}'); sys.exit(1)",
].join("\n");

const SECOND = 1_000_000_000;
const VARIANTS: { name: string; healthcheck: Docker.HealthConfig }[] = [
  { name: "none", healthcheck: { Test: ["NONE"] } },
  { name: "urllib (before)", healthcheck: { Test: ["CMD", "python3", "-c", URLLIB], Interval: SECOND } },
  { name: "socket (image's own)", healthcheck: {} },
];

/** Busy and total jiffies of all cores together. */
function cpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const jiffies = line.trim().split(/\s+/).slice(1).map(Number);
  const [, , , idle = 0, iowait = 0] = jiffies;
  const total = jiffies.reduce((a, b) => a + b, 0);
  return { busy: total - idle - iowait, total };
}

async function clean() {
  const list = await docker.listContainers({ all: true, filters: { label: [LABEL] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
}

async function measure(healthcheck: Docker.HealthConfig): Promise<number> {
  const started = await Promise.all(
    Array.from({ length: N }, async () => {
      const c = await docker.createContainer({
        Image: values.image,
        Labels: { "compose-roll.bench": "healthcheck" },
        Env: ["BOOT_DELAY=0"],
        ...(Object.keys(healthcheck).length ? { Healthcheck: healthcheck } : {}),
      });
      await c.start();
      return c;
    }),
  );
  // Booted and settled: gunicorn's start and Django's first request are not the checks' cost.
  await new Promise((r) => setTimeout(r, 15_000));
  const a = cpu();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const b = cpu();
  await Promise.all(started.map((c) => c.remove({ force: true })));
  return (100 * (b.busy - a.busy)) / (b.total - a.total);
}

await clean();
const rows: string[] = [];
try {
  for (const v of VARIANTS) {
    const busy = await measure(v.healthcheck);
    const cores = (busy / 100) * os.cpus().length;
    const row = `${v.name.padEnd(22)} host CPU busy ${busy.toFixed(1)} % (${cores.toFixed(2)} cores)`;
    log(`${row}; load ${os.loadavg()[0]?.toFixed(2)}`);
    rows.push(row);
  }
} finally {
  await clean();
}
console.log(`${N} idle web containers, checked every 1 s, ${SECONDS} s each, ${os.cpus().length} cores:`);
for (const r of rows) console.log(`  ${r}`);
