// engine/: the Docker Engine adapter behind the Engine port.

export { type AuthConfig, credentialsFor, findCredentials, registryOf } from "./credentials.js";
export { type Connection, connect, MAX_API_VERSION, MIN_API_VERSION, negotiate } from "./docker.js";
export { DockerEngine, type DockerEngineOptions } from "./dockerEngine.js";
export { systemClock } from "./health.js";
export { ensureImage, type PullOptions, type PullProgress, pullImage } from "./pull.js";
export { type PullPolicy, pullPolicyOf } from "./pullPolicy.js";
export type { AddressOptions } from "./replicas.js";
export { Label } from "./template.js";
