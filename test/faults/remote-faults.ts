// The two faults that reach past the stack: the runner losing its connection to the Docker
// host (ssh:// through a relay that is cut), and the Docker daemon restarting (gated: it stops
// every container on the machine, other test runs' included).
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSshd } from "../support/remote.js";
import { docker, exec, otherOf, sleep, startRelay, webNames } from "./harness.js";
import { back, type Case, onFirst, repair, roll } from "./run.js";

export const sshDrop: Case = {
  id: "ssh-drop-mid",
  title:
    "the runner's connection to the Docker host drops (ssh:// via a relay; connections reset, then refused)",
  when: "after the first new replica is routed; back after compose-roll exits",
  expectExit: [7],
  run: async (fs) => {
    const sshd = await startSshd();
    const relay = await startRelay({ port: sshd.port });
    // The client's HOME: sshd's authorized key, and its host key known under the relay's port.
    const home = mkdtempSync(join(tmpdir(), "cr-faults-ssh-"));
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    for (const f of ["id_ed25519", "id_ed25519.pub"])
      copyFileSync(join(sshd.home, ".ssh", f), join(home, ".ssh", f));
    writeFileSync(
      join(home, ".ssh", "known_hosts"),
      sshd.knownHostsLine.replace(`[127.0.0.1]:${sshd.port}`, `[127.0.0.1]:${relay.port}`),
    );
    const env = {
      DOCKER_HOST: `ssh://root@127.0.0.1:${relay.port}`,
      DOCKER_CONTEXT: "",
      HOME: home,
      SSH_AUTH_SOCK: "",
    };
    try {
      return await roll(fs, {
        target: otherOf,
        expectImage: back,
        env,
        onEvent: onFirst(() => void relay.cut()),
        after: () => relay.restore(),
        recover: () => ({ ...repair(), env }),
      });
    } finally {
      await relay.close();
      await sshd.stop();
    }
  },
};

/**
 * Restarts dockerd: FAULTS_DAEMON_RESTART_CMD (a shell command, e.g. `systemctl restart
 * docker`) when given; otherwise SIGTERM to dockerd and the same command line started again
 * (this testbed's dockerd has no service manager), its output in /var/log/dockerd-faults.log.
 */
async function restartDaemon(): Promise<void> {
  const cmd = process.env.FAULTS_DAEMON_RESTART_CMD;
  if (cmd) {
    await exec("sh", ["-c", cmd]);
  } else {
    const pid = Number((await exec("pidof", ["dockerd"])).stdout.trim().split(/\s+/)[0]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 600 && alive(pid); i++) await sleep(100);
    const log = join("/var/log", "dockerd-faults.log");
    const out = openSync(log, "a");
    spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: ["ignore", out, out] }).unref();
  }
  for (let i = 0; i < 600; i++) {
    if (
      await docker.ping().then(
        () => true,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error("dockerd did not come back within 60 s");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const daemonRestart: Case = {
  id: "daemon-restart",
  title: "the Docker daemon restarts (containers come back, restart: unless-stopped, on new addresses)",
  when: "after the first new replica is routed; then `compose-roll repair`",
  expectExit: [5, 7],
  gate: "FAULTS_DAEMON",
  failuresAllowed: {
    why: "every container, Traefik included, was down while dockerd restarted",
    atMost: 200_000,
  },
  run: async (fs) => {
    // The demo has no restart policy; a daemon restart would leave everything stopped.
    const names = [...(await webNames(fs)), fs.traefikContainer];
    await exec("docker", ["update", "--restart", "unless-stopped", ...names]);
    let restarting = Promise.resolve();
    return roll(fs, {
      target: otherOf,
      expectImage: back,
      onEvent: onFirst(() => {
        restarting = restartDaemon();
      }),
      after: () => restarting,
      // Whatever the faulted run managed, repair converges (or says there is nothing to do).
      recover: repair,
    });
  },
};
