// state/: compose-roll's revision history and lock, kept on the Docker host (as never-started
// containers) so every throwaway CI runner that talks to the same engine sees the same state.

export { type ActorSources, actor, ciJob, type Env } from "./actor.js";
export type { StateOptions } from "./containers.js";
export { DockerHistory } from "./history.js";
export { type KeeperOptions, keepLease, type LeaseKeeper } from "./keeper.js";
export {
  type Decoded,
  decodeLock,
  decodeRevision,
  encodeLock,
  encodeRevision,
  LeaseLabel,
  LockLabel,
  leaseName,
  lockName,
  RevisionLabel,
  revisionName,
  StateLabel,
} from "./labels.js";
export { DockerLock } from "./lock.js";
export { pidAlive, selfTag } from "./proc.js";
export { DEFAULT_KEEP, toPrune } from "./prune.js";
export { human, isStale, type Observer, type Staleness } from "./stale.js";
