// Compose itself creates a service's new containers, the way docker-rollout scales
// (`up -d --no-deps --no-recreate --scale svc=N+k svc`): names, labels, the config hash,
// networks and aliases, volumes and env are then exactly what a later `docker compose up`
// expects, for any change in the files — not only a new image. The hash algorithm has changed
// between compose releases, so it is never recomputed here.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { RefusedError } from "../controller/errors.js";
import { compose, type RunOptions } from "./cli.js";
import { type Project, withImage } from "./project.js";

export interface CreateOptions {
  /** Create them with this image instead of the one the files name (`--image`). */
  ref?: string;
  /** Killed after this long: creating also starts them, and may wait on dependencies' volumes. */
  timeoutMs?: number;
  /**
   * false: `docker compose create` only, the caller starts them. `up` would also start every
   * stopped container of the service: an old one a rollout is stopping, or one a release keeps
   * stopped to restart if it fails.
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
    const how = o.start === false ? ["create"] : ["up", "-d", "--no-deps"];
    await compose(
      args,
      [...how, "--no-recreate", "--no-build", "--pull", "never", "--scale", `${service}=${scale}`, service],
      run,
    );
    const known = new Set(before);
    let added = (await ids(args, service, run)).filter((id) => !known.has(id));
    // A container removed between our count and compose's (a drain ending) makes compose
    // create one more to reach the scale: created only, the surplus is removed unseen.
    if (o.start === false && added.length > count) {
      const surplus = added.slice(count);
      await removeContainers(surplus, run);
      added = added.slice(0, count);
    }
    if (added.length !== count) {
      throw new RefusedError(
        `docker compose up --scale ${service}=${scale} created ${added.length} containers, not ${count}`,
        `check \`docker compose ps -a ${service}\` for containers compose-roll did not expect, then retry`,
      );
    }
    return added;
  });
}

/** How often `compose ps` is asked again when a container vanished while it looked. */
const PS_TRIES = 4;

/**
 * Every container of the service, running or not (compose counts them all when it scales).
 * `compose ps` lists, then inspects each: an old container whose drain ends in between (the
 * rollout removes it in the background) fails it with "No such container", so it asks again.
 */
async function ids(args: Project["args"], service: string, run: RunOptions): Promise<string[]> {
  for (let tries = 1; ; tries++) {
    try {
      const out = await compose(args, ["ps", "-a", "-q", service], run);
      return out
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
    } catch (err) {
      if (tries >= PS_TRIES || !/No such container/i.test(String((err as Error).message))) throw err;
      await new Promise((ok) => setTimeout(ok, 100 * tries));
    }
  }
}

/** `docker rm -f` by ID, with the same Docker host compose used. */
async function removeContainers(idsToRemove: string[], run: RunOptions): Promise<void> {
  const env = Object.fromEntries(
    Object.entries(run.env).filter(([, v]) => v !== undefined),
  ) as NodeJS.ProcessEnv;
  await promisify(execFile)("docker", ["rm", "-f", ...idsToRemove], { cwd: run.cwd, env, timeout: 60_000 });
}
