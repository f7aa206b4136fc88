// Revision records as named volumes (README "Pruning"). `docker container prune` and
// `docker system prune` (without --volumes) delete never-started containers, so a record
// that is only a container is lost to a habit. A named volume is not: system prune leaves
// volumes alone unless asked, and `docker volume prune` skips a volume a container refers
// to, which the record's pin container does (see history.ts). An empty local volume is a
// directory and its labels; nothing is ever written into it.
import type Docker from "dockerode";
import { EngineError } from "../controller/errors.js";
import { call, engineError, statusOf } from "../engine/docker.js";

export interface VolumeRecord {
  name: string;
  labels: Record<string, string>;
}

/** Volumes whose labels match every `k=v` filter. */
export async function listVolumes(docker: Docker, filters: string[], what: string): Promise<VolumeRecord[]> {
  const res = await call(what, () => docker.listVolumes({ filters: { label: filters } }));
  return (res.Volumes ?? []).map((v) => ({
    name: v.Name,
    labels: (v.Labels as Record<string, string>) ?? {},
  }));
}

/**
 * Creates the volume `name` with `labels`. Docker's volume create is idempotent (a taken
 * name returns the existing volume, its labels unchanged), so the name is checked first and
 * the labels read back after: either way, a record that already exists is refused.
 */
export async function createVolume(
  docker: Docker,
  name: string,
  labels: Record<string, string>,
  what: string,
): Promise<void> {
  const taken = () =>
    new EngineError(
      `Docker: could not ${what}: volume ${name} already exists`,
      `another rollout recorded it meanwhile; check \`docker volume inspect ${name}\` and retry`,
    );
  if (await inspectVolume(docker, name, what)) throw taken();
  await call(what, () => docker.createVolume({ Name: name, Labels: labels }));
  const back = await inspectVolume(docker, name, what);
  const same = back && Object.entries(labels).every(([k, v]) => back.labels[k] === v);
  if (!same) throw taken();
}

async function inspectVolume(docker: Docker, name: string, what: string): Promise<VolumeRecord | undefined> {
  try {
    const v = (await docker.getVolume(name).inspect()) as {
      Name: string;
      Labels?: Record<string, string> | null;
    };
    return { name: v.Name, labels: v.Labels ?? {} };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw engineError(err, what);
  }
}

/** Removes a volume; already gone is fine. In use (its pin still exists) is an error. */
export async function removeVolume(docker: Docker, name: string, what: string): Promise<void> {
  try {
    await docker.getVolume(name).remove();
  } catch (err) {
    if (statusOf(err) === 404) return;
    throw engineError(err, what);
  }
}
