// Running a command inside a container through the Engine's exec API (no `docker` CLI, no
// shell of ours: argv goes to the Engine as is). Label mode drains with it: `touch` the
// drain file, or the user's drain command.
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { EngineError } from "../controller/errors.js";
import { engineError, statusOf } from "./docker.js";
import type { ContainerInspect } from "./types.js";

export interface ExecResult {
  exitCode: number;
  /** stdout and stderr together, trimmed to its last line-ish 200 characters. */
  output: string;
}

/** Runs `argv` in the container and waits for it to exit (or `timeoutMs`). */
export async function execIn(
  docker: Docker,
  containerId: string,
  argv: string[],
  timeoutMs: number,
): Promise<ExecResult> {
  const what = `exec ${JSON.stringify(argv)} in ${containerId.slice(0, 12)}`;
  let exec: Docker.Exec;
  try {
    exec = await docker.getContainer(containerId).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  } catch (err) {
    const hint = statusOf(err) === 409 ? "the container is not running" : undefined;
    throw engineError(err, what, hint);
  }
  const stream = await exec.start({ hijack: true, stdin: false }).catch((err: unknown) => {
    throw engineError(err, what);
  });
  let output = "";
  const sink = new PassThrough();
  sink.on("data", (d: Buffer) => {
    output = (output + d.toString("utf8")).slice(-400);
  });
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(
        new EngineError(
          `${what} did not finish within ${timeoutMs} ms`,
          "make the drain command return promptly",
        ),
      );
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.on("end", done);
    stream.on("close", done);
    stream.on("error", (err) => {
      clearTimeout(timer);
      reject(engineError(err, what));
    });
  });
  const info = await exec.inspect().catch((err: unknown) => {
    throw engineError(err, `inspect ${what}`);
  });
  const lines = output.trim().split("\n");
  return { exitCode: info.ExitCode ?? -1, output: (lines[lines.length - 1] ?? "").slice(0, 200) };
}

/** Docker's health status of a container now ("none" without a healthcheck, undefined when gone). */
export async function healthOf(docker: Docker, containerId: string): Promise<string | undefined> {
  try {
    const c = (await docker.getContainer(containerId).inspect()) as unknown as ContainerInspect;
    if (!c.State.Running) return "exited";
    return c.State.Health?.Status ?? "none";
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw engineError(err, `inspect container ${containerId.slice(0, 12)}`);
  }
}

/**
 * When the latest finished healthcheck of the container began (the Docker host's clock, ms),
 * or undefined when none has finished; null once it no longer runs.
 */
export async function lastCheckStart(
  docker: Docker,
  containerId: string,
): Promise<number | undefined | null> {
  try {
    const c = (await docker.getContainer(containerId).inspect()) as unknown as ContainerInspect;
    if (!c.State.Running) return null;
    const starts = (c.State.Health?.Log ?? [])
      .filter((l) => l.End && l.Start)
      .map((l) => Date.parse(l.Start as string))
      .filter((t) => !Number.isNaN(t));
    return starts.length ? Math.max(...starts) : undefined;
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw engineError(err, `inspect container ${containerId.slice(0, 12)}`);
  }
}
