// `npm run demo`: bring up a private copy of examples/demo, sync Traefik's file, then roll
// v1 → v2 under the load probe and print what users saw and where the time went.
// Doubles as the benchmark for issue figures: it prints measurements, it asserts nothing.
import { formatReport, LoadProbe } from "./load/probe.js";
import { runCli, stackArgs } from "./support/cli.js";
import { startDemo } from "./support/stack.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

const secs = (a: unknown, b: unknown) => (Date.parse(String(b)) - Date.parse(String(a))) / 1000;

async function main(): Promise<number> {
  const from = process.argv[2] ?? "compose-roll-demo/app:v1";
  const to = process.argv[3] ?? "compose-roll-demo/app:v2";
  process.stderr.write(`demo: bringing up Traefik + 3 x ${from} (examples/demo)…\n`);
  const stack = await startDemo("demo", { WEB_IMAGE: from });
  try {
    process.stderr.write(`demo: Traefik at ${stack.httpUrl}, API at ${stack.apiUrl}\n`);
    const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
    process.stderr.write(sync.stderr);
    if (sync.code !== 0) return sync.code ?? 1;

    process.stderr.write(`demo: rolling to ${to} under load (keep-alive, fresh and slow clients)…\n`);
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 300, slowMs: 2000 }).start();
    const run = await runCli(["web", "--image", to, ...stackArgs(stack), "--json"], { cwd: stack.dir });
    const load = await probe.stop();
    for (const e of run.events) process.stderr.write(`  ${JSON.stringify(e)}\n`);
    process.stderr.write(run.stderr);

    // Where the time went: the app's own boot (adding → healthy) versus compose-roll's
    // steps around it (probe and Traefik reloads, draining, stopping).
    const at = (name: unknown, state: string) =>
      run.events.find((e) => e.type === "replica" && e.name === name && e.state === state)?.time;
    const started = run.events.filter((e) => e.type === "replica" && e.state === "adding");
    const boot = started.reduce((sum, e) => sum + secs(e.time, at(e.name, "healthy")), 0);
    // From "start": the pull events before it are the image check, not the rollout.
    const first = (run.events.find((e) => e.type === "start") ?? run.events[0])?.time;
    const last = run.events.at(-1)?.time;
    const total = first && last ? secs(first, last) : Number.NaN;

    console.log("");
    console.log(`rollout ${from} → ${to}: exit ${run.code}`);
    console.log(`  ${formatReport(load)}`);
    console.log(`  releases answered, in order: ${load.releases.join(" → ")}`);
    console.log(
      `  rollout ${total.toFixed(1)} s for ${started.length} replica(s): app boot ${boot.toFixed(1)} s, ` +
        `compose-roll (probe, Traefik reloads, drain, stop) ${(total - boot).toFixed(1)} s`,
    );
    return run.code === 0 && load.failed === 0 ? 0 : 1;
  } finally {
    await stack.down();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`demo: ${err.message}\n`);
    process.exitCode = 1;
  },
);
