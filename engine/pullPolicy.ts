// What a failed pull means, in words a user can act on. Pure: engine/pull.ts does the
// pulling. When to pull (compose's `pull_policy` vocabulary) is controller/pullPolicy.ts's.
import { RefusedError } from "../controller/errors.js";
import type { PullPolicy } from "../controller/ports.js";

export { pullPolicyOf } from "../controller/pullPolicy.js";
export type { PullPolicy };

/** Why a pull failed, sorted into what the user can do about it. */
export type PullFailure = "auth" | "not-found" | "unreachable" | "other";

/**
 * The daemon reports pull failures in free text (as HTTP 404/500 bodies or as an `error`
 * object inside the progress stream); these are the phrasings of Docker 20–29 and the
 * distribution registry.
 */
export function classifyPullError(message: string): PullFailure {
  const m = message.toLowerCase();
  if (
    /connection refused|no such host|i\/o timeout|timeout|deadline exceeded|network is unreachable|no route to host|connection reset|tls: |x509|http response to https client/.test(
      m,
    )
  ) {
    return "unreachable";
  }
  if (
    /unauthorized|authentication required|no basic auth credentials|incorrect username or password|denied/.test(
      m,
    )
  ) {
    // Docker Hub answers "pull access denied ... repository does not exist or may require
    // 'docker login'" for both: it will not say which.
    return /repository does not exist/.test(m) ? "not-found" : "auth";
  }
  if (/manifest unknown|not found|name unknown|repository does not exist|no matching manifest/.test(m)) {
    return "not-found";
  }
  return "other";
}

/** One line naming the ref and the reason, and one saying what to do. */
export function pullError(
  ref: string,
  registry: string,
  daemonMessage: string,
  creds: { anonymous: boolean; source: string },
): RefusedError {
  const msg = daemonMessage.replace(/\s+/g, " ").trim();
  switch (classifyPullError(msg)) {
    case "auth":
      return new RefusedError(
        creds.anonymous
          ? `cannot pull ${ref}: ${registry} requires credentials and none were found in ${creds.source} (${msg})`
          : `cannot pull ${ref}: ${registry} rejected the credentials from ${creds.source} (${msg})`,
        creds.anonymous
          ? `run \`docker login ${registry}\` as the user who runs compose-roll (it reads ${creds.source})`
          : `check the user and password, then \`docker login ${registry}\` again (compose-roll reads ${creds.source})`,
      );
    case "not-found":
      return new RefusedError(
        `cannot pull ${ref}: no such tag or repository on ${registry} (${msg})`,
        "check the image name and tag (push it first if it is new)",
      );
    case "unreachable":
      return new RefusedError(
        `cannot pull ${ref}: registry ${registry} is unreachable from the Docker host (${msg})`,
        /http response to https client/i.test(msg)
          ? `the registry speaks plain http: add "${registry}" to insecure-registries in the daemon's daemon.json`
          : "check the registry runs and the Docker daemon's host can reach it (the daemon pulls, not this machine)",
      );
    case "other":
      return new RefusedError(
        `cannot pull ${ref}: ${msg}`,
        `try \`docker pull ${ref}\` on the Docker host to see the same error`,
      );
  }
}
