// Label mode's drain, on the container's side. Traefik's Docker provider drops a container
// only once Docker calls it unhealthy (or it dies), so compose-roll makes its healthcheck
// fail: it creates the drain file the check tests for, or runs the user's drain command,
// and then reads Docker's health verdict. When to drain, and what Traefik still lists, is
// LabelRouter's business (docker-provider.ts).
import type Docker from "dockerode";
import { RoutingError } from "../controller/errors.js";
import type { Replica } from "../controller/model.js";
import { pollUntil } from "../controller/poll.js";
import type { Clock } from "../controller/ports.js";
import { execIn, lastCheckStart } from "../engine/exec.js";
import { POLL } from "./api.js";
import type { DrainMethod } from "./labels.js";

/**
 * Starts taking `r` out of Traefik: creates the drain file or runs the drain command.
 * False when nothing can (unsafe): the container is then stopped while still listed.
 */
export async function startDrain(
  docker: Docker,
  r: Replica,
  m: DrainMethod,
  timeoutMs: number,
): Promise<boolean> {
  if (m.kind === "unsafe") return false;
  const argv = m.kind === "file" ? ["touch", m.path] : m.argv;
  const res = await execIn(docker, r.id, argv, Math.max(1000, timeoutMs));
  if (res.exitCode !== 0) {
    throw new RoutingError(
      `draining ${r.name}: ${JSON.stringify(argv)} exited ${res.exitCode}${res.output ? `: ${res.output}` : ""}`,
      m.kind === "file"
        ? `the image needs \`touch\` and a writable ${m.path}; or pass --drain-command <argv> / --drain-file <path>`
        : "fix the drain command so it exits 0",
    );
  }
  return true;
}

/**
 * Waits until a healthcheck that began after `since` (the Docker host's clock) has finished,
 * the container stopped, or `timeoutMs` passed (then the caller decides on what it sees).
 */
export async function checkedSince(
  docker: Docker,
  clock: Clock,
  id: string,
  since: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  await pollUntil(
    clock.now() + timeoutMs,
    clock,
    signal,
    async () => {
      const last = await lastCheckStart(docker, id);
      return last === null || (last !== undefined && last > since) ? true : undefined;
    },
    POLL,
  );
}
