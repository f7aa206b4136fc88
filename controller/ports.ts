// Ports: the only ways the controller and the use cases (app/) touch the world. Each has
// one real adapter (engine/, traefik/, state/, compose/, cli/) and fakes in unit tests.
// The records kept on the Docker host (revisions, the lock) are in records.ts.
import type { Series } from "./bake.js";
import type { ImageInfo, Replica, ServiceRef } from "./model.js";

export type {
  Actor,
  History,
  Lock,
  LockInfo,
  LockKeeping,
  ProcessTag,
  Revision,
  RevisionResult,
} from "./records.js";
export type { ServiceRef };

/**
 * An opaque recipe for another container of the service (captured from a running one:
 * env, networks and aliases, volumes, labels, healthcheck, restart policy, stop signal
 * and grace, resources). Only the engine adapter looks inside.
 */
export interface ReplicaTemplate {
  readonly kind: "replica-template";
  /** The image the template was captured from (its defaults are not copied into the clone). */
  readonly sourceImage: ImageInfo;
}

export interface Engine {
  /** Resolves a local image (ref or ID); undefined when it is not on the host. */
  image(ref: string): Promise<ImageInfo | undefined>;
  /** All containers carrying the service's compose labels (running or not), with their Traefik URL. */
  replicas(svc: ServiceRef): Promise<Replica[]>;
  /** Captures the recipe of an existing container of the service. */
  template(containerId: string): Promise<ReplicaTemplate>;
  /** Creates and starts container number `number` from the template with `image`, adding `labels`. */
  start(
    template: ReplicaTemplate,
    image: ImageInfo,
    number: number,
    labels?: Record<string, string>,
  ): Promise<Replica>;
  /**
   * Starts a container compose created (not started yet) for the service, after checking it
   * runs `image`; removes it when that fails.
   */
  startCreated(id: string, image: ImageInfo): Promise<Replica>;
  /**
   * Resolves when the container is healthy (or running, without a HEALTHCHECK). Rejects with
   * HealthError when it turns unhealthy, exits, or `timeoutMs` passes; follows Docker's event
   * stream rather than polling. Rejects with AbortedError when `signal` aborts.
   */
  waitHealthy(replica: Replica, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /**
   * Stops with the container's own stop signal and grace period, then removes it. Idempotent.
   * `quick`: the container never served a request (a failed new one), so no grace is owed;
   * a gunicorn still booting ignores SIGTERM and would otherwise hold a rollback for the
   * whole stop_grace_period.
   */
  stopAndRemove(replica: Replica, opts?: { quick?: boolean }): Promise<void>;
}

/** Which deploy hook a one-off container runs (the gate's runs are "migration-plan"). */
export type TaskName = "pre-deploy" | "post-deploy" | "migration-plan";

export interface TaskOptions {
  task: TaskName;
  /** Killed and removed after this long; the run then rejects. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Each line the command writes, as it writes it. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

export interface TaskResult {
  exitCode: number;
  /** What it wrote to stdout (bounded), for callers that parse it (the migration gate). */
  stdout: string;
  /** Its last stderr line, for a one-line error. */
  lastError: string;
  seconds: number;
}

/**
 * One-off containers of a service, as `docker compose run --rm` makes them: the template's
 * env, networks, volumes and user with another image and command, never routed, never a
 * replica (compose's one-off label keeps them out of `compose ps` and of observe()).
 */
export interface Tasks {
  /** Runs `argv` to completion and removes the container, whatever happens. */
  run(template: ReplicaTemplate, image: ImageInfo, argv: string[], opts: TaskOptions): Promise<TaskResult>;
}

/**
 * How a router routes the service, in its mode's own words: what `status` and `--dry-run`
 * print, and what a rollout must refuse before anything changes.
 */
export interface Routing {
  mode: "file" | "labels";
  /** One line naming the mode and the Traefik service it routes. */
  summary: string;
  /** The Traefik service as Traefik names it (web@file's file-side name, or web-demo@docker). */
  service: string;
  /** The file compose-roll owns (file mode). */
  file?: string;
  /** How an old container leaves Traefik before it stops (label mode); unset when none is safe. */
  drain?: string;
  /** Set when this mode cannot roll the service safely: a rollout throws it before any change. */
  refusal?: Error & { hint?: string };
  /** The dry run's words for the two steps Traefik takes part in. */
  steps: { route(name: string): string; retire(name: string, image: string): string };
}

/**
 * File mode's capability: compose-roll owns the list of servers, so it can rewrite it to
 * match the running containers (sync, repair) and show the change (dry run). Label mode has
 * none: Traefik lists healthy containers itself.
 */
export interface OwnedServers {
  readonly file: string;
  /** The service's name in the file. */
  readonly service: string;
  /** The servers listed, or undefined when the file does not define the service (yet). */
  listed(): Promise<string[] | undefined>;
  /** Router.setServers; `create` adds the service to a file that lacks it instead of refusing. */
  setServers(
    urls: string[],
    timeoutMs: number,
    signal: AbortSignal,
    opts?: { create?: boolean; weights?: Record<string, number> },
  ): Promise<void>;
  /** The file's text now and as it would be listing exactly `urls`; writes nothing. */
  preview(urls: string[]): Promise<{ before?: string; after: string }>;
  /** Whether any Traefik router sends to the service; undefined when the API cannot tell. */
  routed(signal: AbortSignal): Promise<boolean | undefined>;
}

export interface Router {
  /** How this router routes the service (see Routing). */
  describe(): Routing;
  /** Present when compose-roll owns the server list (file mode). */
  readonly owned?: OwnedServers;
  /** Traefik's own view of the service, where it differs from servers() (label mode: each server's status). */
  view?(signal?: AbortSignal): Promise<{ servers: string[]; status: Record<string, string> }>;
  /** Server URLs listed in the file compose-roll owns (empty when the file does not exist). */
  servers(): Promise<string[]>;
  /**
   * Proves Traefik itself can reach `url` with a live request, before any user traffic
   * goes there. Rejects with RoutingError when it cannot within `timeoutMs`. What it set up
   * for that may stay until the next setServers(), which clears it in the same write.
   */
  verify(url: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /**
   * Optional head start for verify(): sets up whatever verify needs to reach `url` (a probe
   * route) while the container still boots, so Traefik's reload is done by the time it is
   * healthy. Sends no traffic. verify() works without it.
   */
  prepare?(url: string, signal: AbortSignal): Promise<void>;
  /**
   * Optional: resolves once Traefik no longer sends new requests to `url`, a server the last
   * setServers() took out. Where setServers() waits for that itself (file mode), not needed;
   * label mode's Traefik drops a server only when its container turns unhealthy, later.
   */
  leaving?(url: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Removes what prepare() or verify() left behind when no setServers() followed (a failed replica). */
  clear?(signal: AbortSignal): Promise<void>;
  /**
   * Writes the file atomically so the service lists exactly `urls`, then waits until
   * Traefik's API shows exactly that set. Rejects with RoutingError on timeout.
   */
  setServers(
    urls: string[],
    timeoutMs: number,
    signal: AbortSignal,
    opts?: { weights?: Record<string, number> },
  ): Promise<void>;
  /**
   * Whether `weights` given to setServers() take effect (file mode: Traefik's weighted round
   * robin). Label mode cannot weigh servers (labels are fixed per container).
   */
  readonly weighs?: boolean;
}

/**
 * Each server's real traffic as Traefik logged it (its JSON access log): what the bake
 * compares. One adapter reads the Traefik container's log stream, another a file.
 */
export interface Traffic {
  /** One line saying why figures cannot be had (the log is off, not JSON, or silent); undefined when they can. */
  unavailable(signal: AbortSignal): Promise<string | undefined>;
  /** Follows the log from now on, keeping per server and second what the bake needs. */
  follow(signal: AbortSignal): Promise<TrafficFeed>;
  /** The last `seconds` of the log, read once (what `status` shows of a bake in progress). */
  recent?(seconds: number, signal: AbortSignal): Promise<TrafficFeed>;
}

export interface TrafficFeed {
  /** The seconds (the log's clock) one server answered in, with their figures. */
  series(url: string): Series;
  /** The latest second a line was read for; undefined before the first. */
  latest(): number | undefined;
  close(): void;
}

export type PullPolicy = "missing" | "always" | "never";

/** Makes the image a rollout goes to present on the Docker host. */
export interface Images {
  /**
   * Pulls `ref` when `policy` says so (reporting progress), else takes it as it is on the
   * host; refuses what the policy forbids. `policyFrom` names where the policy came from.
   */
  ensure(
    ref: string,
    policy: PullPolicy,
    opts: {
      onProgress?: (p: PullProgress) => void;
      policyFrom?: string;
      debug?: (fields: Record<string, unknown>, msg: string) => void;
    },
  ): Promise<ImageInfo>;
}

/** A file a write-back changes (a compose file, or the .env a variable comes from). */
export interface FileWrite {
  path: string;
  /** undefined: the file does not exist yet (a new .env). */
  before: string | undefined;
  after: string;
}

export interface WriteBackPlan {
  writes: FileWrite[];
  /** e.g. "WEB_IMAGE=app:v2 in /srv/app/.env". */
  summary: string;
  warnings: string[];
  /** The variable the ref goes into, when the image is declared as `${VAR}`. */
  variable?: string;
}

/** The compose project the service belongs to, as written in its files. */
export interface ComposeProject {
  /** The compose files (none: no project here, nothing to keep in step). */
  readonly files: string[];
  /** The image the files name for `service` now. */
  image(service: string): string | undefined;
  /** compose's config hash for `service`: as if its image were `ref`, or with `unset` unset. */
  hash(service: string, o?: { ref?: string; unset?: string }): Promise<string>;
  /** Where `ref` would be written; refuses a ref that does not fit the declaration. */
  planWriteBack(service: string, ref: string): WriteBackPlan;
  /**
   * Plans again from the files as they are now and writes, holding the files' write lock:
   * someone may have edited them meanwhile, another service's write-back among them (one .env).
   */
  rewrite(service: string, ref: string): Promise<WriteBackPlan>;
  /**
   * Has compose create and start `count` more containers of `service` exactly as `docker
   * compose up` would for the files now (as if its image were `ref`, when given); their IDs.
   * `start: false`: created only (`docker compose create`), the caller starts them.
   */
  create(service: string, count: number, o?: { ref?: string; start?: boolean }): Promise<string[]>;
  /** The service's labels as compose would give its containers now (Traefik's among them). */
  labels(service: string): Record<string, string>;
  /** deploy.replicas (or scale:) as the files set it. */
  replicas(service: string): number | undefined;
}

/** Docker's event stream, as the use cases need it. */
export interface ContainerEvents {
  /**
   * Calls `onCrash` when a container of the service running `imageId` dies without having
   * been stopped (no `kill` before its `die`). Best effort; returns the function that stops.
   */
  watchCrashes(
    svc: ServiceRef,
    imageId: string,
    onCrash: (name: string, exitCode: string) => void,
  ): Promise<() => void>;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Lifecycle of a container as compose-roll drives it (after kamal-proxy's target states). */
export type ReplicaState = "adding" | "healthy" | "routed" | "draining" | "removed" | "failed";

/** Progress of one pull, for reporters: per-layer counts and bytes, never every stream line. */
export interface PullProgress {
  ref: string;
  status: "pulling" | "pulled" | "present";
  /** The daemon's last word ("Downloaded newer image", "Image is up to date"), or why we did not pull. */
  detail?: string;
  /** Layers finished (pulled or already on the host) out of those the image has, once known. */
  layers?: { done: number; total: number };
  /** Bytes downloaded so far of the layers whose size is known. */
  bytes?: { current: number; total: number };
  seconds?: number;
}

export type RolloutEvent =
  | { type: "start"; service: string; from: string; to: string; replicas: number }
  | { type: "replica"; name: string; image: string; state: ReplicaState; detail?: string }
  | { type: "restore"; reason: string; to: string }
  | { type: "synced"; service: string; servers: string[] }
  /** What became of the compose files: the new ref written back, or why not. */
  | { type: "compose"; result: "written" | "unchanged" | "skipped"; detail: string }
  /** A deploy hook's one-off container: started, then ended with its exit code. */
  | {
      type: "hook";
      hook: TaskName;
      state: "running" | "succeeded" | "failed";
      argv: string[];
      exitCode?: number;
      seconds?: number;
    }
  /** One line a hook's command wrote. */
  | { type: "output"; hook: TaskName; stream: "stdout" | "stderr"; line: string }
  /** The migration gate's verdict on what the pre-deploy migration would apply. */
  | {
      type: "gate";
      result: "safe" | "warned" | "refused" | "skipped";
      migrations: string[];
      findings: { migration: string; operation: string; verdict: string; why: string }[];
      detail?: string;
    }
  /**
   * The bake of new replicas against the old ones in the same seconds: `baking` while it
   * watches (with the figures so far), then its verdict.
   */
  | {
      type: "bake";
      name: string;
      state: "baking" | "ok" | "breach" | "not-enough-data";
      detail: string;
      seconds: number;
      fresh: { requests: number; errors: number; failures: number; p99?: number; p50?: number };
      old: { requests: number; errors: number; failures: number; p99?: number; p50?: number };
    }
  /** A warm-up or smoke check on a new replica before it joins Traefik. */
  | { type: "check"; name: string; detail: string }
  /** Before a rollout: the target image pulled (or found present) per the pull policy. */
  | ({ type: "pull" } & PullProgress)
  | {
      type: "done";
      result: "complete" | "rolled-back";
      from: string;
      to: string;
      replicas: number;
      seconds: number;
    };

/** Human progress or JSON events; never logs (pino does those). */
export interface Reporter {
  event(e: RolloutEvent): void;
}
