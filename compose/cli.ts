// Runs the real `docker compose` for the compose model. Interpolation, `extends`, `include`,
// profiles, env files and merging of -f files are compose's job: reimplementing them is how
// `image: ${X:?}` errors went unnoticed. Only `config` is used; it never contacts the engine.
import { execFile } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { RefusedError } from "../controller/errors.js";

/** What identifies the project to compose: the same flags the user gives `docker compose`. */
export interface ComposeArgs {
  files: string[];
  projectName?: string;
  envFiles: string[];
  profiles: string[];
}

export function globalArgs(a: ComposeArgs): string[] {
  return [
    ...(a.projectName ? ["-p", a.projectName] : []),
    ...a.files.flatMap((f) => ["-f", f]),
    ...a.envFiles.flatMap((f) => ["--env-file", f]),
    ...a.profiles.flatMap((p) => ["--profile", p]),
  ];
}

export interface RunOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Killed after this long (default COMPOSE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Return what compose printed on stderr (its progress, `--dry-run`'s plan) instead of stdout. */
  stderr?: boolean;
}

/**
 * How long one `docker compose config` may take. It reads files, but over ssh it also dials
 * the engine (through our connection, host/ssh.ts listen()): a connection that went silent
 * would otherwise hold it, and the run, for as long as the kernel keeps retrying.
 */
export const COMPOSE_TIMEOUT_MS = 120_000;

/** The compose binary: the Docker CLI plugin, else a standalone docker-compose v2. */
const CANDIDATES: [string, string[]][] = [
  ["docker", ["compose"]],
  ["docker-compose", []],
];

/** The docker CLI's own plugin directories on Linux, after the user's (docker/cli cli-plugins/manager). */
export const SYSTEM_PLUGIN_DIRS = [
  "/usr/local/lib/docker/cli-plugins",
  "/usr/local/libexec/docker/cli-plugins",
  "/usr/lib/docker/cli-plugins",
  "/usr/libexec/docker/cli-plugins",
];

/**
 * The compose plugin binary `docker compose` would run, to run it directly: the docker CLI's
 * own start is about half of a quick compose call (a `config`), and the plugin runs the
 * same standalone. Only when the choice is unambiguous: exactly one docker-compose among the
 * directories the CLI searches, and no extra plugin directories configured (whose place in the
 * search order changed between docker versions). Otherwise undefined: ask `docker compose`.
 */
export function composePlugin(
  env: Record<string, string | undefined>,
  systemDirs: string[] = SYSTEM_PLUGIN_DIRS,
): string | undefined {
  const configDir = env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
  try {
    const config: { cliPluginsExtraDirs?: unknown } = JSON.parse(
      readFileSync(join(configDir, "config.json"), "utf8"),
    );
    if (config.cliPluginsExtraDirs !== undefined) return undefined;
  } catch (err) {
    // No config file is the usual case; one compose-roll cannot read, the docker CLI's business.
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") return undefined;
  }
  const found = [join(configDir, "cli-plugins"), ...systemDirs]
    .map((d) => join(d, "docker-compose"))
    .filter((f) => {
      try {
        accessSync(f, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  return found.length === 1 ? found[0] : undefined;
}

/** `docker compose <global flags> <args>`; a failure is a refusal quoting compose's own words. */
export async function compose(a: ComposeArgs, args: string[], opts: RunOptions): Promise<string> {
  let lastMissing: Error | undefined;
  const plugin = composePlugin(opts.env);
  for (const [bin, prefix] of plugin ? [[plugin, []] as [string, string[]], ...CANDIDATES] : CANDIDATES) {
    try {
      return await exec(bin, [...prefix, ...globalArgs(a), ...args], opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" || isNoPlugin(err)) {
        lastMissing = err as Error;
        continue;
      }
      throw err;
    }
  }
  throw new RefusedError(
    `docker compose is needed to read the compose files, and neither \`docker compose\` nor \`docker-compose\` runs here (${lastMissing?.message.split("\n")[0]})`,
    "install the Compose v2 CLI plugin, or run without compose files (-p <project> from an empty directory)",
  );
}

function isNoPlugin(err: unknown): boolean {
  return /is not a docker command|unknown command "compose"/i.test(String((err as Error).message));
}

function exec(bin: string, args: string[], opts: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const timeout = opts.timeoutMs ?? COMPOSE_TIMEOUT_MS;
    const what = `docker compose ${args
      .filter((x) => !x.startsWith("-"))
      .slice(-2)
      .join(" ")}`;
    execFile(
      bin,
      args,
      { cwd: opts.cwd, env: defined(opts.env), maxBuffer: 64 * 1024 * 1024, timeout, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        if (!err) return resolve(opts.stderr ? stderr : stdout);
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return reject(err);
        if (err.killed) {
          return reject(
            new RefusedError(
              `${what} did not finish within ${timeout / 1000}s and was killed; nothing was changed`,
              "check the connection to the Docker host (compose reaches it through DOCKER_HOST), then retry; `docker compose config` by hand shows where it hangs",
            ),
          );
        }
        const said = composeMessage(stderr) || err.message;
        if (isNoPlugin({ message: said })) return reject(new Error(said));
        reject(
          new RefusedError(
            `${what}: ${said}`,
            "fix the compose files or the variables they need, then retry (`docker compose config` shows the same error)",
          ),
        );
      },
    );
  });
}

/** An unset variable must be absent, not the string "undefined". */
function defined(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}

/** Compose's own error, on one line, without its log prefixes. */
export function composeMessage(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^time=.*level=warning/.test(l) && !/^WARN\[/.test(l));
  const last = lines[lines.length - 1] ?? "";
  return last.replace(/^(Error response from daemon|error):\s*/i, "");
}
