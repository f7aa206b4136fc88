// The vocabulary the decision core reasons in. Plain data only: adapters translate
// Docker inspect output and Traefik's API into these shapes, so the core never sees
// dockerode, the filesystem or fetch.

/** Docker's health as the core cares about it; "none" = the image has no HEALTHCHECK. */
export type Health = "starting" | "healthy" | "unhealthy" | "none";

/** One container of the service, as observed on the Docker host. */
export interface Replica {
  id: string;
  /** e.g. "demo-web-4" (compose naming: <project>-<service>-<number>). */
  name: string;
  /** com.docker.compose.container-number */
  number: number;
  /** Image ID (sha256:...), the identity the core compares; refs can move. */
  imageId: string;
  /** The image reference the container was created from, for humans. */
  imageRef: string;
  running: boolean;
  /** Exit code when not running. */
  exitCode?: number;
  health: Health;
  /**
   * The URL Traefik must use to reach it while it runs: http://<container name>:<port> on a
   * user-defined network (Docker's DNS), http://<ip>:<port> on the default bridge.
   */
  url?: string;
  /** The compose-roll revision that created it, and the image that revision replaced. */
  revision?: number;
  previousImage?: { ref: string; id: string };
  /** com.docker.compose.config-hash: compose recreates the container when it differs from the service's. */
  configHash?: string;
  /** Its `traefik.*` labels, when it has any: label mode refuses a rollout that would change them. */
  traefikLabels?: Record<string, string>;
}

/** What compose-roll sees at one moment: the containers, and which URLs Traefik's file lists. */
export interface Observation {
  replicas: Replica[];
  /** Server URLs currently listed for the service in the file compose-roll owns. */
  routed: string[];
  /** Container numbers held by containers the loop hides from decide() (still draining). */
  held?: number[];
  /**
   * IDs of the containers this process started. Unset: every container counts as this run's.
   * A stopped or unhealthy container of the goal image that another run left (a SIGKILLed run's
   * old container, stopped by its drain but never removed) says nothing about the image.
   */
  mine?: string[];
}

/** An image resolved on the host. */
export interface ImageInfo {
  ref: string;
  id: string;
  /** Container ports the image EXPOSEs (tcp only). */
  exposedPorts: number[];
}

/** What a reconcile loop drives towards: `replicas` routed containers of `image`. */
export interface Goal {
  image: ImageInfo;
  replicas: number;
  /** Extra containers allowed above `replicas` while rolling (Kubernetes' maxSurge). */
  maxSurge: number;
  /**
   * The compose config hash the goal's containers carry: a change of configuration (an env
   * var, a label) with the same image is a new goal too. Unset: the image alone tells.
   */
  config?: string;
  /** Driving back to what ran before a failure: its containers are clones of the old ones. */
  restore?: boolean;
  /**
   * Each new replica is baked against the old ones: it joins without an old one leaving in
   * the same write, so old and new serve side by side while it is watched.
   */
  bake?: boolean;
}

/** Where the service lives: the compose project and service, resolved by compose/. */
export interface ServiceRef {
  project: string;
  service: string;
}
