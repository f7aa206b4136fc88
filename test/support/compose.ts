// `docker compose` itself against a test stack: its project, files and environment.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { DemoStack } from "./stack.js";

/** stdout and stderr together: compose prints its plans (`up --dry-run`) on stderr. */
export async function composeOn(
  stack: Pick<DemoStack, "project" | "files" | "dir" | "composeEnv">,
  args: string[],
): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)(
    "docker",
    ["compose", "-p", stack.project, ...stack.files.flatMap((f) => ["-f", f]), ...args],
    { cwd: stack.dir, env: { ...process.env, ...stack.composeEnv } },
  );
  return stdout + stderr;
}
