// Compose itself creates a service's new containers, the way docker-rollout scales
// (`up -d --no-deps --no-recreate --scale svc=N+k svc`): names, labels, the config hash,
// networks and aliases, volumes and env are then exactly what a later `docker compose up`
// expects, for any change in the files — not only a new image. The hash algorithm has changed
// between compose releases, so it is never recomputed here.
import { RefusedError } from "../controller/errors.js";
import { compose, type RunOptions } from "./cli.js";
import { type Project, withImage } from "./project.js";

export interface CreateOptions {
  /** Create them with this image instead of the one the files name (`--image`). */
  ref?: string;
  /** Killed after this long: creating also starts them, and may wait on dependencies' volumes. */
  timeoutMs?: number;
  /**
   * false: create only (`up --no-start`), and leave the service's stopped containers stopped —
   * a release keeps the old ones it stopped until it is done, to restart them if it fails.
   */
  start?: boolean;
}

/**
 * Has compose create and start `count` more containers of `service` for the files as they are
 * now; returns their IDs (started, not yet known healthy). Compose also starts any stopped
 * container of the service it finds, so callers remove the ones they stopped before.
 */
export async function createReplicas(
  project: Project,
  service: string,
  count: number,
  env: Record<string, string | undefined>,
  o: CreateOptions = {},
): Promise<string[]> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`createReplicas: count ${count}`);
  if (project.files.length === 0) {
    throw new RefusedError(
      `no compose files found, so compose cannot create ${service}'s new containers`,
      "run from the project's directory or pass -f <compose file>",
    );
  }
  const run: RunOptions = { cwd: project.dir, env, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) };
  return withImage(project, service, o.ref, async (args) => {
    const before = await ids(args, service, run);
    const scale = before.length + count;
    await compose(
      args,
      [
        "up",
        o.start === false ? "--no-start" : "-d",
        "--no-deps",
        "--no-recreate",
        "--no-build",
        "--pull",
        "never",
        "--scale",
        `${service}=${scale}`,
        service,
      ],
      run,
    );
    const known = new Set(before);
    const added = (await ids(args, service, run)).filter((id) => !known.has(id));
    if (added.length !== count) {
      throw new RefusedError(
        `docker compose up --scale ${service}=${scale} created ${added.length} containers, not ${count}`,
        `check \`docker compose ps -a ${service}\` for containers compose-roll did not expect, then retry`,
      );
    }
    return added;
  });
}

/** Every container of the service, running or not (compose counts them all when it scales). */
async function ids(args: Project["args"], service: string, run: RunOptions): Promise<string[]> {
  const out = await compose(args, ["ps", "-a", "-q", service], run);
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}
