// `npm run bench:overhead [-- --modes file,labels] [-- --n 1,3,6] [-- --runs 2] [-- --slot 7]
//  [-- --drain 3000]`
// Issue 12's overhead per replica, without load: rolls v1 → v2 on a fresh stack for every
// (mode, N, run), and beside compose-roll's --json events records Traefik's API (polled every
// 50 ms from outside) and Docker's event stream for the project, so each gap (boot, proof,
// the old one leaving Traefik, its stop) is measured by something other than compose-roll
// itself. Writes bench/results/overhead-<time>.json and prints the tables (bench/breakdown.ts).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../test/support/stack.js";
import { type Breakdown, breakdown, type DockerEvent, type Listing, newUrls, tables } from "./breakdown.js";
import { docker, ids, type Routing, type Stack, up } from "./stacks.js";
import type { RollEvent } from "./stats.js";
import { cli, DRAIN_MS } from "./strategies.js";

const { values } = parseArgs({
  options: {
    modes: { type: "string", default: "file,labels" },
    n: { type: "string", default: "1,3,6" },
    runs: { type: "string", default: "2" },
    slot: { type: "string", default: "7" },
    /** compose-roll's --drain in ms (the bench's default: 3000, compose-roll's own). */
    drain: { type: "string" },
    note: { type: "string" },
  },
});
const TO = "compose-roll-demo/app:v2";
const DRAIN = Number(values.drain ?? DRAIN_MS);
const log = (m: string) => process.stderr.write(`overhead: ${m}\n`);
const load1 = () => Math.round((os.loadavg()[0] ?? 0) * 10) / 10;

/** Polls the service in Traefik's API every 50 ms until stopped. */
function pollApi(stack: Stack, service: string) {
  const out: Listing[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const t = Date.now();
      const res = await fetch(`${stack.apiUrl}/api/http/services/${service}`).catch(() => undefined);
      if (res?.ok) {
        const body = (await res.json()) as { loadBalancer?: { servers?: { url: string }[] } };
        out.push({ t, urls: (body.loadBalancer?.servers ?? []).map((x) => x.url) });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return out;
    },
  };
}

/** Follows `docker events` for the project's containers until stopped. */
function followDocker(project: string) {
  const out: DockerEvent[] = [];
  const child = spawn(
    "docker",
    [
      "events",
      "--filter",
      "type=container",
      "--filter",
      `label=com.docker.compose.project=${project}`,
      "--format",
      "{{json .}}",
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let buf = "";
  child.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const l of lines) {
      const e = JSON.parse(l) as {
        status: string;
        timeNano: number;
        Actor: { Attributes: { name: string } };
      };
      // Healthcheck probes are execs, one a second per container: not needed, and bulky.
      if (e.status.startsWith("exec_")) continue;
      out.push({ t: Math.round(e.timeNano / 1e6), name: e.Actor.Attributes.name, status: e.status });
    }
  });
  const closed = new Promise<void>((r) => child.on("close", () => r()));
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300)); // the last destroy event in flight
      child.kill("SIGTERM");
      await closed;
      return out;
    },
  };
}

/** name → the URL Traefik lists it by: short ID (file mode) or IP:port (labels). */
async function urlsOf(stack: Stack): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of await ids(stack)) {
    const line = await docker([
      "inspect",
      "-f",
      "{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
      id,
    ]);
    const [name, ip] = line.trim().replace(/^\//, "").split(/\s+/);
    if (name) out[name] = stack.routing === "file" ? `http://${id.slice(0, 12)}:8000` : `http://${ip}:8000`;
  }
  return out;
}

async function once(routing: Routing, n: number, run: number) {
  const stack = await up({ routing, slot: Number(values.slot), replicas: n });
  try {
    if (routing === "file") {
      const sync = await cli(stack, ["sync", "web"]);
      if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
    }
    const old = await urlsOf(stack);
    const service = routing === "file" ? "web@file" : `web-${stack.project}@docker`;
    const load = load1();
    const api = pollApi(stack, service);
    const events = followDocker(stack.project);
    const res = await cli(stack, ["web", "--image", TO, "--json", "--no-write", "--drain", `${DRAIN}ms`]);
    const [listings, dockerEvents] = [await api.stop(), await events.stop()];
    const roll = res.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as RollEvent);
    if (res.code !== 0) log(`${routing} N=${n} run ${run} failed: ${res.stderr.trim()}`);
    const b = breakdown(roll, { ...old, ...newUrls(roll) }, listings, dockerEvents, DRAIN, n);
    return { mode: routing, n, run, load, ok: res.code === 0, b, events: roll, docker: dockerEvents };
  } finally {
    await stack.down();
  }
}

async function main() {
  const modes = values.modes.split(",") as Routing[];
  const ns = values.n.split(",").map(Number);
  const R = Number(values.runs);
  const started = { at: new Date().toISOString(), loadavg: os.loadavg() };
  const results: Awaited<ReturnType<typeof once>>[] = [];
  // Interleaved (run-major), so a burst of load on the shared host hits every case alike.
  for (let r = 1; r <= R; r++) {
    for (const m of modes) {
      for (const n of ns) {
        log(`${m} N=${n} run ${r}/${R} (load ${load1()})`);
        const res = await once(m, n, r);
        log(`  overhead ${res.b.overhead_s} s, ${res.b.per_replica_s} s a replica`);
        log(`\n${tables([{ mode: m, n, run: r, load: res.load, b: res.b }])}`);
        results.push(res);
      }
    }
  }
  const md = tables(results.map(({ mode, n, run, load, b }) => ({ mode, n, run, load, b })));
  const summary = summarize(results.map(({ mode, n, b }) => ({ mode, n, b })));
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const stamp = started.at.replace(/[:.]/g, "-");
  const machine = { cpus: os.cpus().length, loadavg_start: started.loadavg, loadavg_end: os.loadavg() };
  writeFileSync(
    join(dir, `overhead-${stamp}.json`),
    `${JSON.stringify({ at: started.at, note: values.note, machine, results }, null, 1)}\n`,
  );
  process.stdout.write(`${summary}\n\n${md}\n`);
}

/** Medians per (mode, N) of overhead per replica, healthy→routed, routed→out and tail. */
function summarize(rs: { mode: string; n: number; b: Breakdown }[]): string {
  const med = (xs: number[]) => {
    const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return v.length ? (v[Math.floor((v.length - 1) / 2)] as number) : Number.NaN;
  };
  const keys = [...new Set(rs.map((r) => `${r.mode} ${r.n}`))];
  const lines = [
    "| mode | N | runs | per replica s (each run) | median healthy→routed s | median routed→out s | median tail s |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
  ];
  for (const k of keys) {
    const g = rs.filter((r) => `${r.mode} ${r.n}` === k);
    const rows = g.flatMap((r) => r.b.rows);
    lines.push(
      `| ${g[0]?.mode} | ${g[0]?.n} | ${g.length} | ${g.map((r) => r.b.per_replica_s.toFixed(2)).join(", ")} | ` +
        `${med(rows.map((r) => r.route_s)).toFixed(1)} | ${med(rows.map((r) => r.out_s ?? Number.NaN)).toFixed(1)} | ` +
        `${med(g.map((r) => r.b.tail_s)).toFixed(1)} |`,
    );
  }
  return lines.join("\n");
}

main().catch((err: Error) => {
  process.stderr.write(`overhead: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
