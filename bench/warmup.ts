// `npm run bench:warmup`: does --warmup lower what a new replica's first users wait? On the
// Django demo (PostgreSQL, examples/demo without its smoke and warm-up settings) under a
// steady /visits/ load through Traefik, it rolls v1 ↔ v2 R times in ABBA order, with and
// without `--warmup /visits/x50`, and for every new container takes the first 50 requests it
// answered (told apart by the hostname each answer names): p50, p99 and max of those, per
// replica and per arm. Loopback only, bounded in count and time. Prints figures; asserts nothing.
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { loadavg } from "node:os";
import { join } from "node:path";
import { runCli } from "../test/support/cli.js";
import { PATIENT_HEALTH, ROOT, startDemo } from "../test/support/stack.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
const FIRST = 50;
const RATE = 60; // requests per second, spread over the replicas by Traefik
const rounds = Number(process.argv[2] ?? "4");

interface Sample {
  at: number;
  ms: number;
  host?: string;
}

/** Open-loop load of /visits/ over a keep-alive pool, as browsers behind Traefik send it. */
function load(url: string, maxSeconds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const samples: Sample[] = [];
  const t0 = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - t0 > maxSeconds * 1000) return;
    const start = performance.now();
    http
      .get(`${url}/visits/`, { agent, timeout: 10_000 }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += d;
        });
        res.on("end", () => {
          const host = /"hostname": "([0-9a-f]+)"/.exec(body)?.[1];
          samples.push({ at: Date.now(), ms: performance.now() - start, ...(host ? { host } : {}) });
        });
      })
      .on("error", () => samples.push({ at: Date.now(), ms: performance.now() - start }));
  }, 1000 / RATE);
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      agent.destroy();
    },
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

async function main(): Promise<void> {
  const stack = await startDemo(
    "warmup",
    {},
    {
      ...PATIENT_HEALTH,
      example: "demo",
      migrate: true,
      // The arms differ only by --warmup: no smoke request warms either of them.
      prepare: (dir) => {
        PATIENT_HEALTH.prepare?.(dir);
        const file = join(dir, "compose.yaml");
        writeFileSync(file, readFileSync(file, "utf8").replace(/^\s+(smoke|warmup): .*\n/gm, ""));
      },
    },
  );
  const base = ["-p", stack.project, ...stack.files.flatMap((f) => ["-f", f]), "--json"];
  const results: {
    rollout: string;
    warmup: boolean;
    replicas: { p50: number; p99: number; max: number; warmP99: number }[];
  }[] = [];
  try {
    const sync = await runCli(["sync", "web", ...base], { cwd: stack.dir, env: stack.composeEnv });
    if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
    const l = load(stack.httpUrl, 60 * 30);
    // ABBA: none, warm, warm, none, ... so drift in the machine's load falls on both arms.
    const arms = Array.from({ length: rounds }, (_, i) => [false, true, true, false][i % 4] as boolean);
    let tag = "v1";
    for (const warm of arms) {
      const to = tag === "v1" ? "v2" : "v1";
      await new Promise((r) => setTimeout(r, 5000)); // steady state between rollouts
      const from = l.samples.length;
      const run = await runCli(
        [
          "web",
          "--image",
          `compose-roll-demo/app:${to}`,
          ...base,
          ...(warm ? ["--warmup", "/visits/x50"] : []),
        ],
        { cwd: stack.dir, env: stack.composeEnv },
      );
      if (run.code !== 0) throw new Error(`rollout to ${to} exited ${run.code}: ${run.stderr}`);
      await new Promise((r) => setTimeout(r, 8000)); // the last new replica's first 50
      const fresh = run.events
        .filter((e) => e.type === "replica" && e.state === "routed")
        .map((e) => /http:\/\/([0-9a-f]{12})/.exec(String(e.detail))?.[1])
        .filter((h): h is string => Boolean(h));
      const replicas = fresh.map((h, i) => {
        const mine = l.samples
          .slice(from)
          .filter((s) => s.host === h)
          .slice(0, FIRST);
        const first = mine.map((s) => s.ms);
        // The machine's own noise in the same seconds: what the replicas already warm (not
        // this one, not the ones still to come) answered meanwhile.
        const [t0, t1] = [mine[0]?.at ?? 0, mine.at(-1)?.at ?? 0];
        const later = new Set(fresh.slice(i));
        const others = l.samples
          .filter((s) => s.host && !later.has(s.host) && s.at >= t0 && s.at <= t1)
          .map((s) => s.ms);
        return {
          p50: Math.round(pct(first, 50)),
          p99: Math.round(pct(first, 99)),
          max: Math.round(Math.max(...first)),
          warmP99: Math.round(pct(others, 99)),
        };
      });
      results.push({ rollout: `${tag} → ${to}`, warmup: warm, replicas });
      console.log(
        `${tag} → ${to} ${warm ? "with --warmup /visits/x50" : "without warm-up"}: p99 of the first ${FIRST} per new replica ${replicas.map((r) => `${r.p99} ms (warm ones meanwhile ${r.warmP99} ms)`).join(", ")}`,
      );
      tag = to;
    }
    l.stop();
  } finally {
    await stack.down();
  }
  const arm = (w: boolean) =>
    results.filter((r) => r.warmup === w).flatMap((r) => r.replicas.map((x) => x.p99));
  const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
  const excess = (w: boolean) =>
    results.filter((r) => r.warmup === w).flatMap((r) => r.replicas.map((x) => x.p99 - x.warmP99));
  const summary = {
    without: mean(arm(false)),
    with: mean(arm(true)),
    aboveWarmWithout: mean(excess(false)),
    aboveWarmWith: mean(excess(true)),
    loadAverage: loadavg().map((x) => Math.round(x * 10) / 10),
  };
  console.log(
    `mean p99 of the first ${FIRST} requests to a new replica: without ${summary.without} ms, with ${summary.with} ms; ` +
      `above the warm replicas' p99 in the same seconds: without ${summary.aboveWarmWithout} ms, with ${summary.aboveWarmWith} ms`,
  );
  writeFileSync(
    join(ROOT, "bench/results/warmup-latest.json"),
    `${JSON.stringify({ first: FIRST, rate: RATE, results, summary }, null, 2)}\n`,
  );
}

main().catch((err: Error) => {
  console.error(`bench:warmup: ${err.message}`);
  process.exitCode = 1;
});
