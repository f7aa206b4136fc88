// What a use case needs, owned by the use-case layer: the ports it acts through and the
// settings it acts on, already resolved. cli/context.ts builds one from the command line,
// the environment and the compose project; a test builds one from fakes.
import type {
  Actor,
  ComposeProject,
  ContainerEvents,
  History,
  Images,
  Lock,
  LockKeeping,
  PullPolicy,
  ServiceRef,
  Tasks,
  Traffic,
} from "../controller/ports.js";
import type { Deps, RolloutRequest } from "../controller/rollout.js";
import type { BakeSettings } from "./bake.js";

/** The settings the use cases act on (the CLI maps its options onto these in one place). */
export interface RolloutOptions {
  maxSurge: number;
  healthTimeoutMs: number;
  routeTimeoutMs: number;
  drainMs: number;
  /** How long to wait for a held lock (0: fail at once with exit 3). */
  waitMs: number;
  /** A lock without a lease (an older compose-roll's) from another host is stale after this. */
  lockStaleMs: number;
  /** The lease this run promises to renew its lock within. */
  lockLeaseMs: number;
  /** Revision records kept per service. */
  historyLimit: number;
  /** undo: this revision instead of the one before the current. */
  toRevision?: number;
  /** The pull policy given for this run (flag, variable or x-compose-roll); undefined: the service's. */
  pull?: PullPolicy;
  /** The service's own pull_policy, as the compose file writes it (read only when rolling). */
  servicePull?: string;
  /** The container port Traefik targets, when the image alone cannot say. */
  port?: number;
  /** `--scale`: the replica count to converge to, over the files' deploy.replicas. */
  scale?: number;
  /** Write the new ref back into the compose files after a complete rollout. */
  write: boolean;
  /** Work out and return the plan; change nothing. */
  dryRun: boolean;
  preDeploy?: string[];
  postDeploy?: string[];
  preDeployTimeoutMs: number;
  postDeployTimeoutMs: number;
  /** What the migration gate does with a migration that would break the old replicas. */
  migrationGate: "off" | "warn" | "refuse";
  allowBreaking: boolean;
  /** Bench-only: compose creates the new containers even when only the image changed. */
  composeCreate?: boolean;
  /** Test-only: SIGKILL ourselves before step k. */
  killAtStep?: number;
  /** Watch each new replica on real traffic beside the old ones (app/bake.ts); undefined: no bake. */
  bake?: BakeSettings;
  /** The first new replica's share in percent while it bakes (file mode). */
  canary?: number;
}

export interface AppContext {
  svc: ServiceRef;
  /** The controller's ports: the Engine, the Router (its mode), the clock, the reporter. */
  deps: Deps;
  history: History;
  lock: Lock;
  /** How this run holds the lock: staleness of another holder, the lease it keeps. */
  keeping: LockKeeping;
  actor: Actor;
  /** Recorded with each revision, so a later command on another runner needs fewer flags. */
  settings: Record<string, string>;
  opts: RolloutOptions;
  images: Images;
  events: ContainerEvents;
  /** One-off containers of the service: the deploy hooks and the migration gate's questions. */
  tasks: Tasks;
  /**
   * A new replica's checks before it is routed: warm-up, and smoke when `smoke` (a new
   * release). Undefined when none is configured.
   */
  checks(o: { smoke: boolean }): RolloutRequest["check"] | undefined;
  /**
   * Per-image container ports the engine reads by reference: the target's is set once the
   * image is resolved (its ID keys it).
   */
  portByImage: Record<string, number>;
  /** The compose project, kept in step with what runs (the write-back). */
  compose: ComposeProject;
  /** Whether the Docker host has any container of the compose project, or any rollout of it recorded. */
  knownProject(project: string): Promise<boolean>;
  /** Traefik's access log, per server: what the bake reads (set when a bake is asked for). */
  traffic?: Traffic;
  /** One line for the person running it (stderr). */
  say(line: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
}
