// compose-roll against a Docker host it reaches only through the connection: TLS (a real TLS
// endpoint with certificates made here, client certificate required) and ssh (Debian's sshd
// on loopback, `docker system dial-stdio` on its side), plus a context from the real docker
// CLI's `docker context create`. Over ssh the Traefik file, API and entrypoint go through the
// connection too (SFTP, forwarded streams); remote-host.e2e.test.ts proves it with the file
// hidden from the runner and the API unpublished. Over TLS they are reached from the runner.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe } from "../load/probe.js";
import { containers, runCli, stackArgs } from "../support/cli.js";
import { type Certs, makeCerts, type Sshd, startSshd, startTlsProxy } from "../support/remote.js";
import { type DemoStack, ROOT, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

let stack: DemoStack;
let certs: Certs;
let tls: Awaited<ReturnType<typeof startTlsProxy>>;
let sshd: Sshd;

/** Nothing of the runner's own Docker or ssh setup leaks in: every run names its engine. */
const clean = {
  DOCKER_HOST: "",
  DOCKER_CONTEXT: "",
  DOCKER_TLS_VERIFY: "",
  DOCKER_CERT_PATH: "",
  SSH_AUTH_SOCK: "",
};

beforeAll(async () => {
  [stack, certs, sshd] = await Promise.all([startDemo("remote"), makeCerts(), startSshd()]);
  tls = await startTlsProxy(certs);
  const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir, env: clean });
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await tls?.close();
  await sshd?.stop();
  await stack?.down();
});

async function status(env: Record<string, string>, args: string[] = []) {
  const t0 = Date.now();
  const run = await runCli(["status", "web", "--json", ...args, ...stackArgs(stack)], {
    cwd: stack.dir,
    env: { ...clean, ...env },
  });
  return { ...run, ms: Date.now() - t0 };
}

/** The refusal is one `compose-roll:` line plus one `what to do:` line, never a stack trace. */
function expectOneLineRefusal(stderr: string, what: RegExp, todo: RegExp) {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(2);
  expect(lines[0]).toMatch(what);
  expect(lines[1]).toMatch(todo);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe("tcp:// with TLS", () => {
  it("reads status and history through a verified TLS connection", async () => {
    const before = tls.connections();
    const env = {
      DOCKER_HOST: `tcp://127.0.0.1:${tls.port}`,
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: certs.good,
    };
    const run = await status(env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/compose-roll-demo\/app:v1/);
    expect(tls.connections()).toBeGreaterThan(before);
    const history = await runCli(["history", "web", "-p", stack.project, "--json"], {
      cwd: stack.dir,
      env: { ...clean, ...env },
    });
    expect(history.code, history.stderr).toBe(0);
    const local = await status({});
    console.log(`status: local ${local.ms} ms, TLS ${run.ms} ms`);
  });

  it("refuses an engine whose certificate does not verify: exit 2, one clear line", async () => {
    const run = await status({
      DOCKER_HOST: `tcp://127.0.0.1:${tls.port}`,
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: certs.wrongCa,
    });
    expect(run.code, run.stderr).toBe(2);
    expectOneLineRefusal(
      run.stderr,
      /could not reach the Docker engine at tcp:\/\/127\.0\.0\.1:\d+ \(TLS\)/,
      /did not verify/,
    );
  });

  it("refuses plain HTTP to a TLS port rather than falling back", async () => {
    const run = await status({ DOCKER_HOST: `tcp://127.0.0.1:${tls.port}` });
    expect(run.code, run.stderr).toBe(2);
  });
});

describe("ssh://", () => {
  it("reads status over ssh, with the host key checked against known_hosts", async () => {
    const run = await status({ DOCKER_HOST: sshd.url, HOME: sshd.home });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/compose-roll-demo\/app:v1/);
    expect(sshd.log()).toMatch(/Accepted publickey for root/);
    console.log(`status over ssh: ${run.ms} ms`);
  });

  it("refuses a host whose key is not in known_hosts: exit 2, naming ssh-keyscan", async () => {
    const home = mkdtempSync(join(tmpdir(), "compose-roll-home-"));
    mkdirSync(join(home, ".ssh"));
    execFileSync("cp", [join(sshd.home, ".ssh", "id_ed25519"), join(home, ".ssh", "id_ed25519")]);
    const run = await status({ DOCKER_HOST: sshd.url, HOME: home });
    expect(run.code, run.stderr).toBe(2);
    expectOneLineRefusal(
      run.stderr,
      /host key of \[127\.0\.0\.1\]:\d+ .* not in known_hosts/,
      /ssh-keyscan -p \d+ 127\.0\.0\.1/,
    );
  });

  it("authenticates with a key held by ssh-agent (SSH_AUTH_SOCK), none on disk", async () => {
    const home = mkdtempSync(join(tmpdir(), "compose-roll-home-"));
    mkdirSync(join(home, ".ssh"));
    writeFileSync(join(home, ".ssh", "known_hosts"), sshd.knownHostsLine);
    const sock = join(home, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      await expect.poll(() => existsSync(sock)).toBe(true);
      execFileSync("ssh-add", [join(sshd.home, ".ssh", "id_ed25519")], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        stdio: "pipe",
      });
      const run = await status({ DOCKER_HOST: sshd.url, HOME: home, SSH_AUTH_SOCK: sock });
      expect(run.code, run.stderr).toBe(0);
      // Without the agent the same home has no key at all: refused, naming what was tried.
      const none = await status({ DOCKER_HOST: sshd.url, HOME: home });
      expect(none.code, none.stderr).toBe(2);
      expect(none.stderr).toMatch(/accepted none of our keys \(tried: none found\)/);
    } finally {
      agent.kill();
    }
  });

  it("refuses a host whose key changed", async () => {
    const home = mkdtempSync(join(tmpdir(), "compose-roll-home-"));
    mkdirSync(join(home, ".ssh"));
    execFileSync("cp", [join(sshd.home, ".ssh", "id_ed25519"), join(home, ".ssh", "id_ed25519")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(home, "other")]);
    const other = execFileSync("cat", [join(home, "other.pub")])
      .toString()
      .split(" ")
      .slice(0, 2)
      .join(" ");
    writeFileSync(join(home, ".ssh", "known_hosts"), `[127.0.0.1]:${sshd.port} ${other}\n`);
    const run = await status({ DOCKER_HOST: sshd.url, HOME: home });
    expect(run.code, run.stderr).toBe(2);
    expectOneLineRefusal(run.stderr, /does not match .*known_hosts:1/, /ssh-keygen -R/);
  });

  it("follows the current context that `docker context create/use` wrote", async () => {
    const config = mkdtempSync(join(tmpdir(), "compose-roll-docker-config-"));
    const docker = (...args: string[]) =>
      execFileSync("docker", ["--config", config, ...args], { stdio: "pipe" });
    docker("context", "create", "remote-test", "--docker", `host=${sshd.url}`);
    docker("context", "use", "remote-test");
    const before = (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const run = await status({ DOCKER_CONFIG: config, HOME: sshd.home });
    expect(run.code, run.stderr).toBe(0);
    expect((sshd.log().match(/Accepted publickey/g) ?? []).length).toBeGreaterThan(before);
    // -H beats the current context.
    const local = await status({ DOCKER_CONFIG: config, HOME: sshd.home }, [
      "-H",
      "unix:///var/run/docker.sock",
    ]);
    expect(local.code, local.stderr).toBe(0);
  });

  it("works from the container image with DOCKER_HOST=ssh:// and a mounted key", async () => {
    const build = spawnSync(join(ROOT, "images/build"), ["compose-roll"], { encoding: "utf8" });
    expect(build.status, build.stderr).toBe(0);
    const env = Object.entries(stack.composeEnv).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const before = (sshd.log().match(/Accepted publickey/g) ?? []).length;
    // No docker socket mounted: the only way to the engine is ssh (--network host: the
    // loopback sshd and Traefik's published ports).
    const run = spawnSync(
      "docker",
      [
        "run",
        "--rm",
        "--network",
        "host",
        "-e",
        `DOCKER_HOST=${sshd.url}`,
        "-v",
        `${sshd.home}/.ssh:/root/.ssh:ro`,
      ]
        .concat(["-v", `${stack.dir}:${stack.dir}`, "-w", stack.dir, ...env, "compose-roll"])
        .concat(["status", "web", "--json", ...stackArgs(stack)]),
      { encoding: "utf8" },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/compose-roll-demo\/app:v1/);
    // spawnSync held this process's event loop: let it read what sshd logged meanwhile.
    await expect.poll(() => (sshd.log().match(/Accepted publickey/g) ?? []).length).toBeGreaterThan(before);
  });

  it("rolls the demo to v2 over ssh with 0 failed requests, then back to v1 locally", async () => {
    const roll = async (image: string, env: Record<string, string>) => {
      const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
      const t0 = Date.now();
      const run = await runCli(["web", "--image", image, ...stackArgs(stack), "--json"], {
        cwd: stack.dir,
        env: { ...clean, ...env },
      });
      const ms = Date.now() - t0;
      const load = await probe.stop();
      expect(run.code, run.stderr).toBe(0);
      expectNoneFailed(load);
      return { ms, load };
    };
    const overSsh = await roll("compose-roll-demo/app:v2", { DOCKER_HOST: sshd.url, HOME: sshd.home });
    const cs = await containers(stack.project);
    expect(cs.map((c) => c.image)).toEqual(Array(3).fill("compose-roll-demo/app:v2"));
    const local = await roll("compose-roll-demo/app:v1", {});
    console.log(
      `rollout over ssh ${overSsh.ms} ms (${formatReport(overSsh.load)}); local ${local.ms} ms (${formatReport(local.load)})`,
    );
  });

  it("a holder cut off longer than its lease stops (exit 4, no restore) before the cut ends; the run that took over finishes", async () => {
    const target = "compose-roll-demo/app:v2";
    // 20 s, not the 10 s minimum: renewals over ssh get a deadline of lease/8, and with three
    // e2e groups on 2 cores 1.25 s proved too short (the holder gave up before the cut).
    const LEASE = "20s";
    let cutAt = 0;
    let waiter: Promise<Awaited<ReturnType<typeof runCli>>> | undefined;
    const holder = runCli(["web", "--image", target, ...stackArgs(stack), "--lock-lease", LEASE, "--json"], {
      cwd: stack.dir,
      env: { ...clean, DOCKER_HOST: sshd.url, HOME: sshd.home },
      onEvent: (e) => {
        if (cutAt || e.type !== "replica" || e.state !== "healthy") return;
        sshd.freeze(true);
        cutAt = Date.now();
        // Another runner on the engine's own socket, on "another host": it may take the lock
        // once the holder's lease ran out, and resumes the interrupted rollout.
        waiter = runCli(["web", "--image", target, ...stackArgs(stack), "--wait", "60s", "--json"], {
          cwd: stack.dir,
          env: clean,
          prefix: ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', "other-runner"],
        });
      },
    });
    let endedAt = 0;
    const held = holder.then((r) => {
      endedAt = Date.now();
      return r;
    });
    try {
      for (const end = Date.now() + 150_000; !cutAt && !endedAt && Date.now() < end; )
        await new Promise((r) => setTimeout(r, 200));
      if (!cutAt) {
        const r = endedAt ? await held : undefined;
        throw new Error(
          r
            ? `the holder ended (exit ${r.code}) before a new replica was healthy: ${r.stderr}`
            : "no new replica was healthy within 150 s",
        );
      }
      // The cut lasts longer than the lease: the waiter takes over meanwhile.
      await new Promise((r) => setTimeout(r, 26_000));
    } finally {
      sshd.freeze(false);
    }
    const resumedAt = Date.now();
    const old = await held;
    const next = await (waiter as NonNullable<typeof waiter>);
    console.log(
      `ssh cut (${LEASE} lease): the holder stopped ${((endedAt - cutAt) / 1000).toFixed(1)} s after the cut; the cut lasted ${((resumedAt - cutAt) / 1000).toFixed(1)} s`,
    );
    expect(old.code, old.stderr).toBe(4);
    expect(endedAt).toBeLessThan(resumedAt); // nothing of it went through sshd after the cut
    expect(old.stderr).toMatch(/lost the lock of .*: its 20s lease could not be renewed for \d+s/);
    expect(old.stderr).toMatch(/compose-roll status/);
    expect(old.events.map((e) => e.type)).not.toContain("restore");
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/taking over a stale lock: .* on another host, last renewed its 20s lease/);
    const cs = await containers(stack.project);
    expect(cs.map((c) => c.image)).toEqual(Array(3).fill(target));
  }, 300_000);
});
