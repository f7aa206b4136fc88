// The fault matrix: one case per way a rollout's world can break, each run under load on the
// shared fault stack (harness.ts). A case injects its fault, runs compose-roll (and, where
// the fault leaves compose-roll unable to finish, the documented recovery), and says what it
// expects; matrix.ts checks the final state and records the figures.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { app, docker, exec, type FaultStack, otherOf, REPLICAS, sleep, webNames } from "./harness.js";
import { daemonRestart, sshDrop } from "./remote-faults.js";
import { back, type Case, forward, onFirst, repair, roll } from "./run.js";
import { type PlannedStep, rolloutSteps } from "./steps.js";

/** Runs a command that must succeed (fault injection), synchronously enough for the case. */
const sh = (cmd: string, ...args: string[]) => exec(cmd, args).then(() => undefined);

/** Fills the tmpfs until it is full (dd stops at ENOSPC). */
async function fill(fs: FaultStack): Promise<void> {
  await exec("dd", ["if=/dev/zero", `of=${join(fs.dynamicDir, "filler.bin")}`, "bs=4k"]).catch(() => {});
}
const unfill = (fs: FaultStack) => rm(join(fs.dynamicDir, "filler.bin"), { force: true });
const readOnly = (fs: FaultStack) => sh("mount", "-o", "remount,ro", fs.dynamicDir);
const writable = (fs: FaultStack) => sh("mount", "-o", "remount,rw", fs.dynamicDir);

/**
 * SIGSTOPs the gunicorn workers of a container (not PID 1, the master, and not itself: its
 * own command line names gunicorn): it stops answering, its healthcheck fails.
 */
async function hang(name: string): Promise<void> {
  const script =
    "import os,signal\nfor p in os.listdir('/proc'):\n if p.isdigit() and int(p) not in (1, os.getpid()):\n  try:\n   c=open(f'/proc/{p}/cmdline','rb').read()\n  except OSError:\n   continue\n  if b'gunicorn' in c: os.kill(int(p), signal.SIGSTOP)\n";
  await exec("docker", ["exec", name, "python3", "-c", script]);
}

async function until(what: string, ok: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await sleep(250);
  }
}

const stateOf = async (name: string) => {
  const s = (await docker.getContainer(name).inspect()).State;
  return s.Running ? (s.Health?.Status ?? "running") : "exited";
};

/**
 * A fault of what compose-roll reaches besides Docker (Traefik's API, the file's directory):
 * before the rollout it must refuse, changing nothing (exit 2); after the first new replica
 * is routed, for good, the restore cannot finish either (exit 7, the lock kept), and once
 * the fault is undone `compose-roll repair` converges back.
 */
function beforeAndMid(
  id: string,
  title: string,
  inject: (fs: FaultStack) => Promise<void>,
  undo: (fs: FaultStack) => Promise<void>,
  extra: string[] = [],
): Case[] {
  return [
    {
      id: `${id}-before`,
      title,
      when: "before the rollout",
      expectExit: [2],
      run: (fs) =>
        roll(fs, { target: otherOf, expectImage: back, before: () => inject(fs), after: () => undo(fs) }),
    },
    {
      id: `${id}-mid`,
      title,
      when: "after the first new replica is routed; undone after compose-roll exits",
      expectExit: [7],
      run: (fs) =>
        roll(fs, {
          target: otherOf,
          expectImage: back,
          extra,
          onEvent: onFirst(() => void inject(fs)),
          after: () => undo(fs),
          recover: repair,
        }),
    },
  ];
}

/** An old container (the second) broken before the rollout: it must be replaced too, not block it. */
function brokenOld(
  id: string,
  title: string,
  failuresAllowed: { why: string; atMost: number },
  breakIt: (name: string) => Promise<unknown>,
  state: string,
): Case {
  return {
    id,
    title,
    when: "before the rollout",
    expectExit: [0],
    failuresAllowed,
    run: async (fs) => {
      const victim = (await webNames(fs))[1] as string;
      return roll(fs, {
        target: otherOf,
        expectImage: forward,
        before: async () => {
          await breakIt(victim);
          await until(`${victim} ${state}`, async () => (await stateOf(victim)) === state);
        },
      });
    },
  };
}

function signalCase(sig: "SIGINT" | "SIGTERM"): Case {
  return {
    id: sig.toLowerCase(),
    title: `compose-roll gets ${sig}`,
    when: "after the first new replica is routed",
    expectExit: [5],
    run: (fs) =>
      roll(fs, {
        target: otherOf,
        expectImage: back,
        onEvent: onFirst((kill) => kill(sig)),
      }),
  };
}

/** The steps a rollout of the fault stack takes today, from the decision core (steps.ts). */
export const STEPS = rolloutSteps(REPLICAS);

/**
 * SIGKILL before step k, then the documented recovery: odd k the same command again (it
 * finishes the rollout), even k `compose-roll repair` (back to the previous image), so each
 * kind of step is recovered both ways across the three replicas.
 */
function killCase(k: number): Case {
  const rerun = k % 2 === 1;
  const step = STEPS[k - 1] as PlannedStep;
  return {
    id: `sigkill-step-${k}`,
    title: `compose-roll gets SIGKILL before step ${k} of ${STEPS.length} (${step.label})`,
    when: `step boundary ${k}; then ${rerun ? "the same command again" : "`compose-roll repair`"}`,
    expectExit: [null],
    run: (fs) =>
      roll(fs, {
        target: otherOf,
        expectImage: rerun ? forward : back,
        env: { COMPOSE_ROLL_TEST_KILL_AT_STEP: String(k) },
        recover: (target) =>
          rerun ? { command: "the same command", args: ["web", "--image", target] } : repair(),
      }),
  };
}

export const CASES: Case[] = [
  {
    id: "crash-at-boot",
    title: "new container crashes at boot (app:crash)",
    when: "first new replica",
    expectExit: [5],
    run: (fs) => roll(fs, { target: () => app("crash"), expectImage: back }),
  },
  {
    id: "crash-while-proven",
    title: "new container crashes 1 s after it became healthy (app:crash-soon)",
    when: "first new replica, while compose-roll proves it (a 3 s warm-up request) before routing",
    expectExit: [5],
    // The warm-up holds the replica out of Traefik past the crash whatever the host's speed:
    // without it a fast proof routed the replica first, and it then died while serving (that
    // is crash-after-healthy, whose failures are the app's own).
    run: (fs) =>
      roll(fs, {
        target: () => app("crash-soon"),
        expectImage: back,
        extra: ["--warmup", "/slow/?ms=3000x1"],
      }),
  },
  {
    id: "crash-after-healthy",
    title: "new container crashes 8 s after it became healthy (app:crash-late)",
    when: "first new replica, once routed and serving",
    expectExit: [5],
    failuresAllowed: {
      why: "the app itself died while serving: the requests in flight to it when it crashed fail (a burst under 0.7 s per crash; with a fast provider throttle a second new replica is routed before the first crashes and dies during the restore, a second burst); the count follows the probe's rate at those instants (17 to 118 seen)",
      atMost: 400,
    },
    run: (fs) => roll(fs, { target: () => app("crash-late"), expectImage: back }),
  },
  {
    id: "never-healthy",
    title: "new container never passes its healthcheck (app:broken, --health-timeout 10s)",
    when: "first new replica",
    expectExit: [5],
    run: (fs) =>
      roll(fs, { target: () => app("broken"), expectImage: back, extra: ["--health-timeout", "10s"] }),
  },
  {
    id: "healthy-unreachable",
    title: "new container healthy but Traefik cannot reach it (app:loopback binds 127.0.0.1)",
    when: "first new replica, at the probe",
    expectExit: [5],
    run: (fs) =>
      roll(fs, { target: () => app("loopback"), expectImage: back, extra: ["--route-timeout", "8s"] }),
  },
  ...beforeAndMid(
    "api-down",
    "Traefik's API unreachable (connections refused; mid-rollout: reset, for good, --route-timeout 8s)",
    (fs) => fs.api.cut(),
    (fs) => fs.api.restore(),
    ["--route-timeout", "8s"],
  ),
  {
    id: "api-blip-mid",
    title: "Traefik's API unreachable for 5 s (connections reset, then refused)",
    when: "after the first new replica is routed",
    expectExit: [0],
    run: (fs) =>
      roll(fs, {
        target: otherOf,
        expectImage: forward,
        onEvent: onFirst(() => {
          void fs.api.cut().then(() => sleep(5000).then(() => fs.api.restore()));
        }),
      }),
  },
  {
    id: "traefik-restart",
    title: "Traefik restarts (docker restart)",
    when: "after the first new replica is routed",
    expectExit: [0],
    failuresAllowed: {
      why: "Traefik itself was down: its entrypoint refused connections while it restarted (the probe's clients retry a refused connection at once, so the count says more about their speed than about users)",
      atMost: 15_000,
    },
    run: (fs) =>
      roll(fs, {
        target: otherOf,
        expectImage: forward,
        onEvent: onFirst(() => void docker.getContainer(fs.traefikContainer).restart({ t: 5 })),
      }),
  },
  signalCase("SIGINT"),
  signalCase("SIGTERM"),
  ...STEPS.map((_, i) => killCase(i + 1)),
  ...beforeAndMid(
    "dir-readonly",
    "the Traefik file's directory is read-only (tmpfs remounted ro)",
    readOnly,
    writable,
  ),
  ...beforeAndMid("disk-full", "the Traefik file's disk is full (256 KiB tmpfs, filled by dd)", fill, unfill),
  brokenOld(
    "old-exited",
    "an old container has already exited (docker kill), still listed in Traefik",
    {
      why: "requests Traefik sent to the dead container before compose-roll's first step took it out",
      // A third of the load for the second or two before that step: the count follows the
      // probe's request rate (63 and 242 failed at 200 and 230 requests/s on this machine).
      atMost: 600,
    },
    (name) => docker.getContainer(name).kill(),
    "exited",
  ),
  brokenOld(
    "old-unhealthy",
    "an old container hangs (gunicorn SIGSTOPped) and is unhealthy",
    {
      why: "requests Traefik sent to the hung container (they time out) before compose-roll took it out",
      atMost: 50,
    },
    hang,
    "unhealthy",
  ),
  sshDrop,
  daemonRestart,
];
