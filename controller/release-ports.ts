// The ports a release drives its unrouted and singleton services through: compose creates
// the new containers (so they are exactly what `docker compose up` would make), the Engine
// API starts, watches, stops and removes them.

/** A container of the service, as the release sees it. */
export interface WorkerContainer {
  id: string;
  name: string;
  running: boolean;
  /** The image reference it was created with. */
  image: string;
  /** The image's ID, where the engine says (a tag may have moved since). */
  imageId?: string;
}

export interface WorkerState {
  running: boolean;
  /** Absent: the container has no healthcheck. */
  health?: "starting" | "healthy" | "unhealthy";
  exitCode: number;
  /** When it last started (ms since the epoch). */
  startedAt: number;
}

export interface Workers {
  /** The service's containers (compose's, not one-off), running or not, oldest first. */
  list(service: string): Promise<WorkerContainer[]>;
  /**
   * Compose creates `count` more for the files as they are now (as if its image were `ref`,
   * when given), without starting any; their IDs.
   */
  create(service: string, count: number, ref?: string): Promise<string[]>;
  start(id: string): Promise<void>;
  /** Undefined: the container is gone. */
  state(id: string): Promise<WorkerState | undefined>;
  /** With the container's own stop signal and grace period (compose set them from the file). */
  stop(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}
