// Brings up a private copy of examples/minimal (or another example, e.g. the Django demo on
// PostgreSQL in examples/demo) with testcontainers: its own project name, free loopback
// ports and its own dynamic/ directory, so tests never share state and compose-roll can
// rewrite the Traefik file freely.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, Wait } from "testcontainers";

/** The repository root, whether this runs from test/ (vitest) or dist/test/ (the demo). */
export const ROOT = findRoot(import.meta.dirname);

function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "examples/minimal/compose.yaml"))) return dir;
  }
  throw new Error(`cannot find the repository root above ${from}`);
}

export interface DemoStack {
  dir: string;
  project: string;
  /** The compose files the stack was brought up with (relative to dir). */
  files: string[];
  /** The environment compose needs for this stack (its ports). */
  composeEnv: Record<string, string>;
  httpUrl: string;
  apiUrl: string;
  traefikFile: string;
  env: StartedDockerComposeEnvironment;
  down(): Promise<void>;
}

/** The demo app's boot delay in test stacks (the image's own is 2 s); see startDemo. */
export const FAST_BOOT = "0.5";
/** A healthcheck probe's timeout in test stacks; see PATIENT_HEALTH. */
const PATIENT_TIMEOUT = "6s";
/**
 * Label mode's probe timeout in test stacks. There Traefik drops a container the moment Docker
 * calls it unhealthy, so a host stall long enough for `retries` checks in a row to time out
 * takes every container out at once: a 404 for every request (seen once in CI, three e2e groups
 * on 2 cores). 10 s per check rides out a ~30 s stall; the drain file still fails a check at
 * once, so drains take no longer.
 */
export const LABEL_MODE_TIMEOUT = "10s";
/**
 * How often test stacks check web (the image's own is every 1 s). Each check is a process
 * started in the container, ~65 ms of host CPU however small the probe (npm run
 * bench:healthcheck: 15 idle containers at 1 s keep a whole core busy); three groups of e2e
 * files run ~30 such containers at once on 2 cores. Label mode keeps 1 s: its drains wait for
 * the drain file to fail the check `retries` times.
 */
export const PATIENT_INTERVAL = "2s";
/** Traefik, databases and brokers only start in tests; nothing waits on their next check. */
export const IDLE_INTERVAL = "5s";

/**
 * The demo's healthcheck allows 3 s per probe; on the shared 2-core testbed, under load
 * averages of 30-70, a python3 start alone can take longer, and healthy containers were
 * marked unhealthy mid-test (a restore then ends in exit 7). 6 s keeps long tests about
 * compose-roll, not the machine's load; compose-roll's clones inherit it. Compose reads
 * compose.override.yaml by itself, so compose-roll needs no -f for it. It also sets the app's
 * boot delay as startDemo does for the minimal stack (examples other than minimal have no knob).
 */
export const PATIENT_HEALTH: DemoOptions = {
  files: ["compose.yaml", "compose.override.yaml"],
  prepare: (dir) =>
    writeFileSync(
      join(dir, "compose.override.yaml"),
      [
        "services:",
        "  web:",
        "    healthcheck:",
        '      test: ["CMD", "python3", "/app/healthcheck.py"]',
        `      interval: ${PATIENT_INTERVAL}`,
        `      timeout: ${PATIENT_TIMEOUT}`,
        "      retries: 3",
        "      start_period: 60s",
        "    environment:",
        `      BOOT_DELAY: "${FAST_BOOT}"`,
        "",
      ].join("\n"),
    ),
};

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

export interface DemoOptions {
  /** The example to copy, under examples/ (default: minimal, the stack without a database). */
  example?: string;
  /** Compose files, in -f order (default: compose.yaml). */
  files?: string[];
  /** Runs on the stack's copy of the example before `up` (e.g. to add an override file). */
  prepare?: (dir: string) => void;
  /**
   * After `up`, the first migration as the example's header tells a user to run it:
   * `docker compose run --rm web python3 manage.py migrate --noinput`.
   */
  migrate?: boolean;
  /** How long testcontainers waits for each container's health (default: testcontainers' own, 60 s). */
  startupTimeoutMs?: number;
}

export async function startDemo(
  name: string,
  extraEnv: Record<string, string> = {},
  opts: DemoOptions = {},
): Promise<DemoStack> {
  const example = opts.example ?? "minimal";
  const dir = join(mkdtempSync(join(tmpdir(), "compose-roll-e2e-")), example);
  cpSync(join(ROOT, "examples", example), dir, { recursive: true });
  opts.prepare?.(dir);
  const files = opts.files ?? ["compose.yaml"];
  const [http, api] = [await freePort(), await freePort()];
  const project = `cr-${name}-${process.pid}`.toLowerCase();
  // Traefik's provider throttle at 100 ms unless a test asks otherwise: each rollout step is one
  // file change, and at the default 2 s the suite would mostly wait on Traefik. Tests about
  // pacing under the default pass TRAEFIK_THROTTLE themselves. The app's boot delay (minimal
  // only) at 0.5 s rather than 2 s: a rollout starts 3 containers one after another and waits
  // for each; 0.5 s still leaves a window where a new container runs but does not listen.
  // Healthcheck timeouts as PATIENT_HEALTH's: at load averages near 55, python3 and even
  // Traefik's own probe took longer than 3 s and 2 s, and stacks failed to come up.
  const composeEnv = {
    DEMO_HTTP_PORT: String(http),
    DEMO_API_PORT: String(api),
    TRAEFIK_THROTTLE: "100ms",
    DEMO_BOOT_DELAY: FAST_BOOT,
    DEMO_HEALTH_TIMEOUT: PATIENT_TIMEOUT,
    DEMO_HEALTH_INTERVAL: PATIENT_INTERVAL,
    DEMO_TRAEFIK_HEALTH_TIMEOUT: PATIENT_TIMEOUT,
    DEMO_TRAEFIK_HEALTH_INTERVAL: IDLE_INTERVAL,
    ...extraEnv,
  };
  const environment = new DockerComposeEnvironment(dir, files);
  if (opts.startupTimeoutMs) environment.withStartupTimeout(opts.startupTimeoutMs);
  const env = await environment
    .withProjectName(project)
    .withEnvironment(composeEnv)
    .withWaitStrategy("traefik-1", Wait.forHealthCheck())
    .withWaitStrategy("web-1", Wait.forHealthCheck())
    .withWaitStrategy("web-2", Wait.forHealthCheck())
    .withWaitStrategy("web-3", Wait.forHealthCheck())
    .up();
  const stack: DemoStack = {
    dir,
    project,
    files,
    composeEnv,
    httpUrl: `http://127.0.0.1:${http}`,
    apiUrl: `http://127.0.0.1:${api}`,
    traefikFile: join(dir, "dynamic/web.yml"),
    env,
    // compose-roll's containers carry the project's labels, so `down` removes them too; its
    // state (lock, revision records) carries its own and goes separately.
    down: async () => {
      await env.down({ timeout: 10_000, removeVolumes: true });
      const docker = new Docker();
      const state = await docker.listContainers({
        all: true,
        filters: { label: [`com.compose-roll.project=${project}`] },
      });
      await Promise.all(state.map((c) => docker.getContainer(c.Id).remove({ force: true })));
      // Revision records are named volumes outside the compose project: down -v leaves them.
      const { Volumes } = await docker.listVolumes({
        filters: { label: [`com.compose-roll.project=${project}`] },
      });
      await Promise.all(
        (Volumes ?? []).map((v) =>
          docker
            .getVolume(v.Name)
            .remove()
            .catch(() => {}),
        ),
      );
    },
  };
  if (opts.migrate) {
    try {
      await compose(stack, ["run", "--rm", "web", "python3", "manage.py", "migrate", "--noinput"]);
    } catch (err) {
      await stack.down(); // a stack the caller never gets would be left running
      throw err;
    }
  }
  return stack;
}

/**
 * `docker compose` on the stack as its user would type it (its project, files and env).
 * Compose reports progress ("Container … Running") on stderr.
 */
export async function compose(
  stack: DemoStack,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  const files = stack.files.flatMap((f) => ["-f", f]);
  const res = await promisify(execFile)("docker", ["compose", "-p", stack.project, ...files, ...args], {
    cwd: stack.dir,
    env: { ...process.env, ...stack.composeEnv, ...extraEnv },
    maxBuffer: 16 << 20,
  });
  return { stdout: res.stdout, stderr: res.stderr };
}

/**
 * `docker compose up -d --dry-run`'s plan for the stack, one line a container as compose prints
 * it ("Container … Running" for one it would leave alone), and its whole output for messages.
 */
export async function composePlan(stack: DemoStack): Promise<{ containers: string[]; stderr: string }> {
  const { stderr } = await compose(stack, ["up", "-d", "--dry-run"]);
  return { containers: stderr.split("\n").filter((l) => /Container /.test(l)), stderr };
}
