// Waits for Docker to call a container healthy by following the event stream, not by
// polling. Order matters: subscribe first, then inspect. A transition that happens between
// the two is then either visible in the inspect or delivered as an event; the other order
// could miss it and wait for a `healthy` that already happened.
import type Docker from "dockerode";
import { AbortedError, EngineError, HealthError } from "../controller/errors.js";
import type { Clock } from "../controller/ports.js";
import { call, dockerMessage, statusOf } from "./docker.js";
import { actionOf, openEvents } from "./events.js";
import type { ContainerInspect } from "./types.js";

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    }),
};

type Verdict = { ok: true } | { ok: false; why: string } | undefined;

/** The decision from one inspect: healthy, failed (why), or still waiting (undefined). */
export function judge(c: ContainerInspect): Verdict {
  const st = c.State;
  const health = st.Health?.Status;
  if (!st.Running || st.Restarting) {
    if (st.Status === "created") return undefined;
    return { ok: false, why: `exited with code ${st.ExitCode}${lastProbe(c)}` };
  }
  if (!health || health === "healthy") return { ok: true };
  if (health === "unhealthy") return { ok: false, why: `is unhealthy${lastProbe(c)}` };
  return undefined;
}

/** The last health probe's output, trimmed to one short line, for the error message. */
export function lastProbe(c: ContainerInspect): string {
  const log = c.State.Health?.Log ?? [];
  // A probe cut short by the container's exit logs code 137 with no output: skip to a telling one.
  const last = log.findLast((e) => e.Output?.trim()) ?? log[log.length - 1];
  if (!last) return "";
  const lines = (last.Output ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines[lines.length - 1] ?? "";
  const short = line.length > 200 ? `${line.slice(0, 197)}...` : line;
  return `; last health check exited ${last.ExitCode ?? "?"}${short ? `: ${short}` : ""}`;
}

export interface WaitTarget {
  id: string;
  name: string;
}

export async function waitHealthy(
  docker: Docker,
  target: WaitTarget,
  timeoutMs: number,
  signal: AbortSignal,
  clock: Clock = systemClock,
): Promise<void> {
  const aborted = () =>
    new AbortedError(`stopped waiting for ${target.name} to become healthy`, "compose-roll was interrupted");
  if (signal.aborted) throw aborted();
  const feed = await call(`follow events of ${target.name}`, () =>
    openEvents(docker, { type: ["container"], container: [target.id], event: ["health_status", "die"] }),
  );
  const { stream } = feed;

  const done = new AbortController();
  const inspect = () => docker.getContainer(target.id).inspect() as unknown as Promise<ContainerInspect>;
  try {
    return await new Promise<void>((resolve, reject) => {
      const fail = (why: string) =>
        reject(
          new HealthError(
            `${target.name} ${why}`,
            `see \`docker logs ${target.name}\` and \`docker inspect --format '{{json .State.Health}}' ${target.name}\``,
          ),
        );
      const settleFrom = (c: ContainerInspect) => {
        const v = judge(c);
        if (v?.ok) resolve();
        else if (v) fail(v.why);
      };
      const onError = (err: unknown) =>
        reject(
          statusOf(err) === 404
            ? new HealthError(`${target.name} was removed while waiting for it to become healthy`)
            : new EngineError(
                `Docker: lost track of ${target.name} while waiting for health: ${dockerMessage(err)}`,
                "check `docker info` and retry",
              ),
        );

      feed.onEvent((ev) => {
        const action = actionOf(ev);
        if (action === "health_status: healthy") resolve();
        else if (action === "health_status: unhealthy" || action === "die") {
          // A restart policy may have started it again by now: the event's exit code is the
          // one to report, the inspect only adds the last probe's output.
          const code = ev.Actor?.Attributes?.exitCode ?? "?";
          const why = action === "die" ? `exited with code ${code}` : "is unhealthy";
          inspect().then(
            (c) => fail(why + lastProbe(c)),
            () => fail(why),
          );
        }
      });
      stream.on("error", onError);
      stream.on("close", () => onError(new Error("the event stream closed")));

      signal.addEventListener("abort", () => reject(aborted()), { once: true, signal: done.signal });
      clock.sleep(timeoutMs, done.signal).then(
        () =>
          inspect().then(
            (c) => {
              if (judge(c)?.ok) return resolve();
              const state = c.State.Health?.Status ?? c.State.Status;
              fail(`did not become healthy within ${seconds(timeoutMs)} (${state}${lastProbe(c)})`);
            },
            () => fail(`did not become healthy within ${seconds(timeoutMs)}`),
          ),
        () => {},
      );
      inspect().then(settleFrom, onError);
    });
  } finally {
    done.abort();
    stream.removeAllListeners("close");
    stream.on("error", () => {});
    stream.destroy();
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}
