// Figures for "how long does a rollout over ssh take against a local one, and where does the
// difference go": the demo rolled v1 → v2 over ssh:// (sshd on loopback, Traefik file and API
// through the connection) and back v2 → v1 on the local socket, back to back, `rounds` times.
// Every Engine API request of both (compose-roll's and its `docker compose` subprocesses')
// goes through one counting proxy in front of the engine's socket: sshd's sessions get it as
// DOCKER_HOST, so `docker system dial-stdio` dials it too. Prints; asserts nothing.
//   node dist/test/remote-figures.js [rounds]
import { mkdtempSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { formatReport, LoadProbe } from "./load/probe.js";
import { runCli, stackArgs } from "./support/cli.js";
import { startSshd } from "./support/remote.js";
import { startDemo } from "./support/stack.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

interface Call {
  what: string;
  ms: number;
}

/** A unix socket in front of the engine's that records each request line and its time to first answer byte. */
async function countingProxy(): Promise<{ path: string; calls: Call[] }> {
  const path = join(mkdtempSync(join(tmpdir(), "compose-roll-count-")), "docker.sock");
  const calls: Call[] = [];
  const server = createServer((client) => {
    const engine = netConnect("/var/run/docker.sock");
    const pending: { what: string; t0: number }[] = [];
    client.on("data", (d: Buffer) => {
      for (const m of d.toString("latin1").matchAll(/^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.1\r$/gm)) {
        const what = `${m[1]} ${(m[2] ?? "")
          .replace(/\?.*/, "")
          .replace(/\/v1\.\d+/, "")
          .replace(/[0-9a-f]{12,64}/g, "<id>")}`;
        pending.push({ what, t0: performance.now() });
      }
      engine.write(d);
    });
    engine.on("data", (d: Buffer) => {
      // The first bytes of an answer (a streaming one counts once, at its start).
      if (/^HTTP\/1\.1 \d{3}/.test(d.toString("latin1", 0, 12))) {
        const p = pending.shift();
        if (p) calls.push({ what: p.what, ms: performance.now() - p.t0 });
      }
      client.write(d);
    });
    const end = () => {
      client.destroy();
      engine.destroy();
    };
    client.on("error", end).on("close", end);
    engine.on("error", end).on("close", end);
  });
  await new Promise<void>((ok) => server.listen(path, ok));
  server.unref();
  return { path, calls };
}

/** Mean time of `n` sequential GET /_ping through DOCKER_HOST=`host` as compose-roll's `status` would pay per call. */
async function pingMs(docker: Docker, n: number): Promise<number> {
  await docker.ping();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await docker.ping();
  return (performance.now() - t0) / n;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 2);
  const proxy = await countingProxy();
  const sshd = await startSshd({ setEnv: `DOCKER_HOST=unix://${proxy.path}` });
  const stack = await startDemo("figures");
  const local = { DOCKER_HOST: `unix://${proxy.path}`, DOCKER_CONTEXT: "" };
  const overSsh = { DOCKER_HOST: sshd.url, HOME: sshd.home, DOCKER_CONTEXT: "", SSH_AUTH_SOCK: "" };
  try {
    await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir, env: local });
    const roll = async (how: string, image: string, env: Record<string, string>) => {
      const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 300, slowMs: 2000 }).start();
      const before = proxy.calls.length;
      const t0 = Date.now();
      const run = await runCli(["web", "--image", image, ...stackArgs(stack), "--json"], {
        cwd: stack.dir,
        env,
      });
      const s = (Date.now() - t0) / 1000;
      const load = await probe.stop();
      const calls = proxy.calls.slice(before);
      const engineMs = calls.reduce((a, c) => a + c.ms, 0);
      const by = new Map<string, number>();
      for (const c of calls) by.set(c.what, (by.get(c.what) ?? 0) + 1);
      const top = [...by].sort((a, b) => b[1] - a[1]).slice(0, 6);
      console.log(
        `${how.padEnd(5)} ${image}: exit ${run.code}, ${s.toFixed(1)} s, ${calls.length} Engine API requests (engine time to first byte, summed: ${(engineMs / 1000).toFixed(1)} s); ${formatReport(load)}`,
      );
      console.log(`      most: ${top.map(([w, n]) => `${n}× ${w}`).join(", ")}`);
      // The app's own boot (adding → healthy, summed) is the same work either way; the rest
      // is compose-roll's share, where a transport's cost shows.
      const added = new Map<string, number>();
      let boot = 0;
      for (const e of run.events) {
        const at = Date.parse(String(e.time));
        if (e.type === "replica" && e.state === "adding") added.set(String(e.name), at);
        if (e.type === "replica" && e.state === "healthy")
          boot += (at - (added.get(String(e.name)) ?? at)) / 1000;
      }
      console.log(`      app boot ${boot.toFixed(1)} s, the rest ${(s - boot).toFixed(1)} s`);
      return { s, calls: calls.length };
    };
    const results: { ssh: number[]; local: number[]; sshCalls: number[]; localCalls: number[] } = {
      ssh: [],
      local: [],
      sshCalls: [],
      localCalls: [],
    };
    for (let i = 0; i < rounds; i++) {
      const a = await roll("ssh", "compose-roll-demo/app:v2", overSsh);
      const b = await roll("local", "compose-roll-demo/app:v1", local);
      results.ssh.push(a.s);
      results.local.push(b.s);
      results.sshCalls.push(a.calls);
      results.localCalls.push(b.calls);
    }
    // Per-call cost of each transport, with the same proxy in the path.
    const { connectTo } = await import("../engine/docker.js");
    const { resolveHost } = await import("../host/host.js");
    // The transport reads HOME (keys, known_hosts) from process.env.
    Object.assign(process.env, { HOME: sshd.home, SSH_AUTH_SOCK: "" });
    const viaSsh = await connectTo(resolveHost({ host: sshd.url }, process.env));
    const [pLocal, pSsh] = [
      await pingMs(new Docker({ socketPath: proxy.path }), 50),
      await pingMs(viaSsh.docker, 50),
    ];
    viaSsh.close();
    console.log(
      `GET /_ping: ${pLocal.toFixed(1)} ms local, ${pSsh.toFixed(1)} ms over ssh (mean of 50, sequential)`,
    );
    console.log(JSON.stringify(results));
  } finally {
    await sshd.stop();
    await stack.down();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
