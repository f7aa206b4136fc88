// Pulling the image a rollout needs, as `docker compose up` would: through the Docker
// Engine (so the daemon's registry mirrors, insecure-registries and proxies apply), with
// the docker CLI's credentials, before anything of the service changes.
import type Docker from "dockerode";
import { RefusedError } from "../controller/errors.js";
import type { ImageInfo } from "../controller/model.js";
import type { Images, PullProgress } from "../controller/ports.js";
import { type CredentialOptions, findCredentials, registryOf } from "./credentials.js";
import { dockerMessage, engineError } from "./docker.js";
import { type PullPolicy, pullError } from "./pullPolicy.js";
import { inspectImage } from "./replicas.js";
import { imageInfo } from "./types.js";

export type { PullProgress };

/** One line of the daemon's pull stream (`/images/create`). */
export interface PullMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

const DONE = /^(pull complete|already exists)$/i;
const LAYER = /^(pulling fs layer|waiting|downloading|verifying checksum|download complete|extracting)$/i;

/** Folds the stream into counts; `changed` says whether a reporter would show something new. */
export class PullTracker {
  private readonly layers = new Map<string, { done: boolean; current: number; total: number }>();
  /** The daemon's error, when it reported one inside the stream (the HTTP status was 200). */
  error: string | undefined;
  final: string | undefined;

  /** Returns true when the number of finished layers changed (a reporter's cue). */
  add(m: PullMessage): boolean {
    if (m.error || m.errorDetail?.message) {
      this.error = m.errorDetail?.message ?? m.error;
      return false;
    }
    const status = m.status ?? "";
    if (/^status: /i.test(status)) this.final = status.replace(/^status: /i, "");
    if (!m.id || !(DONE.test(status) || LAYER.test(status))) return false;
    const before = this.counts().done;
    const layer = this.layers.get(m.id) ?? { done: false, current: 0, total: 0 };
    if (DONE.test(status)) layer.done = true;
    if (/^downloading$/i.test(status) && m.progressDetail) {
      layer.current = m.progressDetail.current ?? layer.current;
      layer.total = m.progressDetail.total ?? layer.total;
    }
    if (/^download complete$/i.test(status)) layer.current = layer.total;
    this.layers.set(m.id, layer);
    return this.counts().done !== before;
  }

  counts(): { done: number; total: number; current: number; bytes: number } {
    let done = 0;
    let current = 0;
    let bytes = 0;
    for (const l of this.layers.values()) {
      if (l.done) done++;
      current += l.current;
      bytes += l.total;
    }
    return { done, total: this.layers.size, current, bytes };
  }

  progress(ref: string): PullProgress {
    const c = this.counts();
    const p: PullProgress = { ref, status: "pulling" };
    if (c.total > 0) p.layers = { done: c.done, total: c.total };
    if (c.bytes > 0) p.bytes = { current: c.current, total: c.bytes };
    return p;
  }
}

export interface PullOptions {
  onProgress?: (p: PullProgress) => void;
  /** Debug lines (pino's debug in the CLI). */
  debug?: (fields: Record<string, unknown>, msg: string) => void;
  credentials?: CredentialOptions;
  /** Where the policy came from, for messages: "--pull" (default) or the service's "pull_policy:". */
  policyFrom?: string;
  /** Least time between two "pulling" progress reports with the same layer count. */
  everyMs?: number;
}

/** Pulls `ref` with the docker CLI's credentials; a refusal (exit 2) names the ref and the reason. */
export async function pullImage(docker: Docker, ref: string, opts: PullOptions = {}): Promise<PullProgress> {
  const registry = registryOf(ref);
  const { auth, source } = await findCredentials(ref, opts.credentials);
  opts.debug?.({ ref, registry, credentials: auth ? source : "none" }, "pulling");
  const fail = (message: string) => pullError(ref, registry, message, { anonymous: !auth, source });
  const t0 = Date.now();
  const tracker = new PullTracker();
  opts.onProgress?.({ ref, status: "pulling", detail: `from ${registry}` });
  let last = 0;
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(ref, auth ? { authconfig: auth } : {})) as NodeJS.ReadableStream;
  } catch (err) {
    // 404/500 before the stream starts: bad credentials, unknown tag, unreachable registry.
    const status = (err as { statusCode?: number }).statusCode;
    if (status === undefined) throw engineError(err, `pull ${ref}`);
    throw fail(dockerMessage(err));
  }
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(engineError(err, `pull ${ref}`)) : resolve()),
      (m: PullMessage) => {
        const now = Date.now();
        if (tracker.add(m) || now - last >= (opts.everyMs ?? 1000)) {
          if (tracker.counts().total === 0) return;
          last = now;
          opts.onProgress?.(tracker.progress(ref));
        }
      },
    );
  });
  // Failures after the stream began (a layer's blob, a manifest) come as an error line.
  if (tracker.error) throw fail(tracker.error);
  const done: PullProgress = {
    ...tracker.progress(ref),
    status: "pulled",
    seconds: Math.round((Date.now() - t0) / 100) / 10,
  };
  // "Downloaded newer image for <ref>" / "Image is up to date for <ref>": the ref is said already.
  if (tracker.final) done.detail = tracker.final.replace(` for ${ref}`, "");
  opts.onProgress?.(done);
  return done;
}

/** An image ID (`sha256:…`) names bytes on this host; no registry can serve it by that name. */
function isImageId(ref: string): boolean {
  return /^sha256:[a-f0-9]{12,64}$/.test(ref);
}

/**
 * Makes sure `ref` is on the Docker host according to `policy`, pulling when it says so,
 * and returns it as inspected afterwards. The caller passes the policy that wins:
 * `--pull`, else the service's `pull_policy`, else "missing".
 */
export async function ensureImage(
  docker: Docker,
  ref: string,
  policy: PullPolicy,
  opts: PullOptions = {},
): Promise<ImageInfo> {
  const from = opts.policyFrom ?? "--pull";
  const local = await inspectImage(docker, ref);
  if (local && (policy !== "always" || isImageId(ref))) {
    opts.onProgress?.({ ref, status: "present", detail: `on the Docker host (${from} ${policy})` });
    return imageInfo(ref, local);
  }
  if (!local && (policy === "never" || isImageId(ref))) throw absent(ref, `${from} ${policy}`);
  await pullImage(docker, ref, opts);
  const pulled = await inspectImage(docker, ref);
  if (!pulled) {
    // Before any change: a refusal (exit 2), not an internal error.
    throw new RefusedError(
      `Docker: the daemon reported ${ref} pulled, but it is not on the host`,
      `retry; if it persists, run \`docker pull ${ref}\` on the Docker host`,
    );
  }
  return imageInfo(ref, pulled);
}

/** The Images port over one Docker connection. */
export class DockerImages implements Images {
  constructor(private readonly docker: Docker) {}

  ensure(ref: string, policy: PullPolicy, opts: PullOptions = {}): Promise<ImageInfo> {
    return ensureImage(this.docker, ref, policy, opts);
  }
}

function absent(ref: string, policy: string): RefusedError {
  return isImageId(ref)
    ? new RefusedError(
        `image ${ref} is not on the Docker host, and an image ID cannot be pulled`,
        "pass the image's name:tag instead of its ID",
      )
    : new RefusedError(
        `image ${ref} is not on the Docker host and ${policy} forbids pulling it`,
        `pull or build it there first, or pass --pull missing to let compose-roll pull it`,
      );
}
