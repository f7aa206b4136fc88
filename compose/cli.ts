// Runs the real `docker compose` for the compose model. Interpolation, `extends`, `include`,
// profiles, env files and merging of -f files are compose's job: reimplementing them is how
// `image: ${X:?}` errors went unnoticed. Only `config` is used; it never contacts the engine.
import { execFile } from "node:child_process";
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
}

/** The compose binary: the Docker CLI plugin, else a standalone docker-compose v2. */
const CANDIDATES: [string, string[]][] = [
  ["docker", ["compose"]],
  ["docker-compose", []],
];

/** `docker compose <global flags> <args>`; a failure is a refusal quoting compose's own words. */
export async function compose(a: ComposeArgs, args: string[], opts: RunOptions): Promise<string> {
  let lastMissing: Error | undefined;
  for (const [bin, prefix] of CANDIDATES) {
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
    execFile(
      bin,
      args,
      { cwd: opts.cwd, env: defined(opts.env), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return reject(err);
        const said = composeMessage(stderr) || err.message;
        if (isNoPlugin({ message: said })) return reject(new Error(said));
        reject(
          new RefusedError(
            `docker compose ${args
              .filter((x) => !x.startsWith("-"))
              .slice(-2)
              .join(" ")}: ${said}`,
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
