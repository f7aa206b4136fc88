// The Docker side of state containers: created, never started, removed. Shared by the lock
// and the revision history.
import type Docker from "dockerode";
import { RefusedError } from "../controller/errors.js";
import { call, engineError, statusOf } from "../engine/docker.js";

export interface StateOptions {
  docker: Docker;
  /**
   * Told about a state container whose labels cannot be read (hand-made, or edited through
   * another tool). It is skipped, never removed automatically. Default: process.emitWarning.
   */
  onDamaged?: (name: string, reason: string) => void;
}

export function warnDamaged(name: string, reason: string): void {
  process.emitWarning(`${name} is not a readable compose-roll record (${reason}); skipped`, {
    type: "ComposeRollWarning",
    detail: `inspect it with \`docker inspect ${name}\`; if it is not needed, \`docker rm ${name}\``,
  });
}

/** What never starting the container still needs to say; it is never run, so none of it matters. */
const NEVER_RUN = ["/compose-roll-state-never-started"];

/** Where a pin container would mount its record volume; it never runs, so nothing is ever there. */
const RECORD_MOUNT = "/.compose-roll-record";

export type Created = { created: true; id: string } | { created: false; conflict: true };

/**
 * Creates a container named `name` from `imageId`, with `labels`, and never starts it.
 * Docker reserves the name atomically, so of racing creators exactly one succeeds and the
 * others get 409, which is returned (not thrown) for the caller to interpret.
 */
export async function createStateContainer(
  docker: Docker,
  name: string,
  imageId: string,
  labels: Record<string, string>,
  what: string,
  /** A named volume the container refers to (mounted read-only if it ever ran): keeps it from `docker volume prune`. */
  volume?: string,
): Promise<Created> {
  const image = await inspectImage(docker, imageId, what);
  // Docker creates an anonymous volume for each VOLUME of the image at CREATE time, not start
  // time, and removing the container with v:false leaves it behind: one leaked volume per
  // record. A tmpfs at the same path satisfies the mount point, so none is created.
  const tmpfs: Record<string, string> = {};
  for (const path of Object.keys(image.Config?.Volumes ?? {})) tmpfs[path] = "";
  // Image LABELs are merged into the container's. An image made by `docker commit` of a
  // compose container carries compose's labels, which would make compose (and the engine
  // adapter) count this record as a service container; an empty value matches no filter.
  const neutral: Record<string, string> = {};
  for (const k of Object.keys(image.Config?.Labels ?? {})) {
    if (k.startsWith("com.docker.compose.")) neutral[k] = "";
  }
  const body = {
    Image: image.Id,
    // Set explicitly: an image with neither ENTRYPOINT nor CMD cannot be created at all.
    Entrypoint: NEVER_RUN,
    Cmd: [],
    Labels: { ...neutral, ...labels },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: "none",
      Tmpfs: tmpfs,
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "none", Config: {} },
      ...(volume
        ? { Mounts: [{ Type: "volume", Source: volume, Target: RECORD_MOUNT, ReadOnly: true }] }
        : {}),
    },
  };
  try {
    // `_query`/`_body` as in engine/dockerEngine.ts: keeps the labels out of the URL.
    const c = await docker.createContainer({
      _query: { name },
      _body: body,
    } as Docker.ContainerCreateOptions);
    return { created: true, id: c.id };
  } catch (err) {
    if (statusOf(err) === 409) return { created: false, conflict: true };
    throw engineError(err, what);
  }
}

interface ImageSummary {
  Id: string;
  Config?: { Volumes?: Record<string, unknown> | null; Labels?: Record<string, string> | null } | null;
}

async function inspectImage(docker: Docker, imageId: string, what: string): Promise<ImageSummary> {
  let image: ImageSummary;
  try {
    image = (await docker.getImage(imageId).inspect()) as unknown as ImageSummary;
  } catch (err) {
    const hint =
      statusOf(err) === 404
        ? `the image ${short(imageId)} is no longer on this host; pull or rebuild it, then retry`
        : undefined;
    throw engineError(err, what, hint);
  }
  // Records pin images by full ID; a tag or short ID would be resolved now and could
  // name another image later, so the record would claim one image and pin another.
  if (image.Id !== imageId) {
    throw new RefusedError(
      `compose-roll cannot ${what}: "${imageId}" is not a full image ID (it resolves to ${image.Id})`,
      "pass the image's full sha256 ID; this is a bug in the caller, please report it",
    );
  }
  return image;
}

/**
 * Removes a state container by ID; already gone is fine. v:false because the container
 * owns no volume of its own (see createStateContainer) and must never take a user's with it;
 * images are never touched here, only unpinned.
 */
export async function removeStateContainer(docker: Docker, id: string, what: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ v: false, force: true });
  } catch (err) {
    const status = statusOf(err);
    if (status === 404) return;
    if (status === 409 && /already in progress/i.test(String((err as Error).message))) return;
    throw engineError(err, what);
  }
}

export interface StateInspect {
  Id: string;
  /** The Docker host's clock at create time (RFC 3339, ns). */
  Created: string;
  Name: string;
  Image: string;
  Config: { Labels?: Record<string, string> | null };
}

/** Undefined when no container has that name (or ID). */
export async function inspectState(docker: Docker, name: string, what: string) {
  try {
    return (await docker.getContainer(name).inspect()) as unknown as StateInspect;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw engineError(err, what);
  }
}

export function listState(docker: Docker, filters: string[], what: string) {
  return call(what, () => docker.listContainers({ all: true, filters: { label: filters } }));
}

export function short(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

export function nameOf(c: { Names?: string[]; Id: string }): string {
  return c.Names?.[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12);
}
