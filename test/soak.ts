// `npm run soak` (not part of `npm test`): N consecutive rollouts of the demo (default 30),
// alternating v1 and v2 under the load probe, every fifth one forced to fail (:broken never
// turns healthy, :crash exits at boot; both must roll back, exit 5). Afterwards nothing may
// be left over: containers, networks, state records beyond --history-limit, lease renewals,
// the lock. While each compose-roll runs, its open fds and RSS are sampled from /proc.
// Prints the figures and writes soak/results/latest.json. `npm run soak -- 10` runs 10.
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { formatReport, LoadProbe, type ProbeReport } from "./load/probe.js";
import { runCli, stackArgs } from "./support/cli.js";
import { PATIENT_HEALTH, ROOT, startDemo } from "./support/stack.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
const sh = promisify(execFile);
const LIMIT = 5; // --history-limit: small, so 30 rollouts must prune
const app = (tag: string) => `compose-roll-demo/app:${tag}`;

interface Run {
  n: number;
  image: string;
  expected: number;
  exit: number | null;
  seconds: number;
  requests: number;
  failed: number;
  p99: number;
  peakFds: number;
  peakRssMb: number;
}

/** Samples /proc/<pid> every 100 ms until stopped: peak open fds and resident memory. */
function sampler() {
  let pid = 0;
  let fds = 0;
  let rss = 0;
  const timer = setInterval(() => {
    if (!pid) return;
    try {
      fds = Math.max(fds, readdirSync(`/proc/${pid}/fd`).length);
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      rss = Math.max(rss, Number(kb ?? 0) / 1024);
    } catch {} // exited between two samples
  }, 100);
  return {
    attach: (p: number) => {
      pid = p;
    },
    stop: () => {
      clearInterval(timer);
      return { peakFds: fds, peakRssMb: Math.round(rss * 10) / 10 };
    },
  };
}

async function count(docker: Docker, project: string) {
  const label = (k: string) => ({ label: [k] });
  const [containers, networks, stateC, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters: label(`com.docker.compose.project=${project}`) }),
    docker.listNetworks({ filters: label(`com.docker.compose.project=${project}`) }),
    docker.listContainers({ all: true, filters: label(`com.compose-roll.project=${project}`) }),
    docker.listVolumes({ filters: label(`com.compose-roll.project=${project}`) }),
  ]);
  const kind = (k: string) => stateC.filter((c) => c.Labels["com.compose-roll.kind"] === k).length;
  const images = (await sh("docker", ["images", "-q", "--filter", "dangling=true"])).stdout
    .split("\n")
    .filter(Boolean);
  return {
    containers: containers.map((c) => `${c.Image} ${c.State}`).sort(),
    networks: networks.length,
    revisionPins: kind("revision"),
    revisionVolumes: (volumes.Volumes ?? []).length,
    leases: kind("lease"),
    locks: kind("lock"),
    danglingImages: images.length,
  };
}

const states = (cs: string[]) => cs.map((c) => c.replace(/:v\d+ /, ":* ")).join();

function save(result: object): void {
  const dir = join(ROOT, "soak/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
}

async function main(): Promise<number> {
  const total = Number(process.argv[2] ?? 30);
  const throttle = process.env.TRAEFIK_THROTTLE ?? "2s";
  process.stderr.write(`soak: ${total} rollouts, Traefik throttle ${throttle}, --history-limit ${LIMIT}\n`);
  const stack = await startDemo("soak", { TRAEFIK_THROTTLE: throttle }, PATIENT_HEALTH);
  const docker = new Docker();
  const runs: Run[] = [];
  try {
    const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
    if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
    const before = await count(docker, stack.project);
    const t0 = Date.now();
    let good = "v1";
    for (let n = 1; n <= total; n++) {
      const failing = n % 5 === 0;
      const tag = failing ? (n % 10 === 0 ? "crash" : "broken") : good === "v1" ? "v2" : "v1";
      const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 300, slowMs: 1000 }).start();
      const s = sampler();
      const started = Date.now();
      const run = await runCli(
        ["web", "--image", app(tag), ...stackArgs(stack), "--history-limit", String(LIMIT), "--json"],
        { cwd: stack.dir, onSpawn: s.attach },
      );
      const peaks = s.stop();
      const load: ProbeReport = await probe.stop();
      const r: Run = {
        n,
        image: tag,
        expected: failing ? 5 : 0,
        exit: run.code,
        seconds: (Date.now() - started) / 1000,
        requests: load.sent,
        failed: load.failed,
        p99: load.p99,
        ...peaks,
      };
      runs.push(r);
      if (!failing && run.code === 0) good = tag;
      process.stderr.write(
        `soak ${n}/${total} → ${tag}: exit ${run.code} (expected ${r.expected}) in ${r.seconds.toFixed(1)}s; ${formatReport(load)}; fds ≤ ${r.peakFds}, RSS ≤ ${r.peakRssMb} MB\n`,
      );
      if (run.code !== r.expected) process.stderr.write(run.stderr);
      // After every rollout, so a soak cut short still leaves its figures.
      save({ at: new Date().toISOString(), rollouts: total, done: n, complete: false, runs });
    }
    const after = await count(docker, stack.project);
    const first = runs.slice(0, 5);
    const last = runs.slice(-5);
    const avg = (rs: Run[], k: "peakFds" | "peakRssMb") => rs.reduce((a, r) => a + r[k], 0) / rs.length;
    const result = {
      at: new Date().toISOString(),
      rollouts: total,
      traefikThrottle: throttle,
      historyLimit: LIMIT,
      minutes: Math.round((Date.now() - t0) / 600) / 100,
      requests: runs.reduce((a, r) => a + r.requests, 0),
      failedRequests: runs.reduce((a, r) => a + r.failed, 0),
      unexpectedExits: runs.filter((r) => r.exit !== r.expected).map((r) => `${r.n}: ${r.exit}`),
      fds: { firstFiveAvgPeak: avg(first, "peakFds"), lastFiveAvgPeak: avg(last, "peakFds") },
      rssMb: {
        firstFiveAvgPeak: Math.round(avg(first, "peakRssMb")),
        lastFiveAvgPeak: Math.round(avg(last, "peakRssMb")),
      },
      before,
      after,
      runs,
    };
    const leaks = [
      // By count and state: which version serves at the end depends on the forced failures.
      states(after.containers) !== states(before.containers) && "containers",
      after.networks !== before.networks && "networks",
      after.revisionVolumes > LIMIT + 2 && "revision records", // + the ones undo needs (state/prune.ts)
      after.revisionPins > LIMIT + 2 && "revision pins",
      after.leases > 0 && "lease renewals",
      after.locks > 0 && "lock",
    ].filter(Boolean);
    save({ ...result, complete: true, leaks });
    process.stderr.write(
      `soak: ${total} rollouts in ${result.minutes} min, ${result.requests} requests, ${result.failedRequests} failed; ` +
        `unexpected exits: ${result.unexpectedExits.length}; leaks: ${leaks.length ? leaks.join(", ") : "none"}; ` +
        `peak fds ${result.fds.firstFiveAvgPeak} → ${result.fds.lastFiveAvgPeak}, RSS ${result.rssMb.firstFiveAvgPeak} → ${result.rssMb.lastFiveAvgPeak} MB ` +
        `(first five vs last five); written to soak/results/latest.json\n`,
    );
    return result.failedRequests === 0 && result.unexpectedExits.length === 0 && leaks.length === 0 ? 0 : 1;
  } finally {
    await stack.down();
    const { stdout } = await sh("docker", [
      "volume",
      "ls",
      "-q",
      "--filter",
      `label=com.compose-roll.project=${stack.project}`,
    ]);
    for (const v of stdout.split("\n").filter(Boolean))
      await sh("docker", ["volume", "rm", v]).catch(() => {});
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`soak: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
