// Pure given its inputs: who is running compose-roll, as recorded with locks and revisions.
// On a throwaway CI runner, user and host say little ("runner", a random hostname), so the
// CI job is what lets someone find the run that holds a lock or made a revision.
import * as os from "node:os";
import type { Actor } from "../controller/ports.js";

export type Env = Readonly<Record<string, string | undefined>>;

export interface ActorSources {
  env?: Env;
  hostname?: () => string;
  /** os.userInfo() throws when the uid has no passwd entry (common in CI containers). */
  username?: () => string;
  pid?: number;
}

export function actor(src: ActorSources = {}): Actor {
  const env = src.env ?? process.env;
  const by: Actor = {
    user: env.USER || safeUsername(src.username ?? (() => os.userInfo().username)),
    host: (src.hostname ?? os.hostname)(),
    pid: src.pid ?? process.pid,
  };
  const job = ciJob(env);
  if (job) by.ciJob = job;
  return by;
}

function safeUsername(read: () => string): string {
  try {
    return read() || "unknown";
  } catch {
    const uid = process.getuid?.();
    return uid === undefined ? "unknown" : `uid ${uid}`;
  }
}

/**
 * The CI job, from the first CI system whose variables are set. GitHub Actions has no
 * job URL variable, so `github:<owner/repo>#<run id>` names the run instead.
 */
export function ciJob(env: Env): string | undefined {
  if (env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY) {
    return `github:${env.GITHUB_REPOSITORY}#${env.GITHUB_RUN_ID}`;
  }
  for (const key of ["CI_JOB_URL", "BUILD_URL", "CIRCLE_BUILD_URL", "BUILDKITE_BUILD_URL"]) {
    const v = env[key];
    if (v) return v;
  }
  return undefined;
}
