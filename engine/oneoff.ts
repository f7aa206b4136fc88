// One-off containers for deploy hooks (`migrate` before the rollout, a post-deploy task after
// it), made the way `docker compose run --rm` makes them: a sibling of the service's
// containers (its env and env files, networks, volumes, user) with the new image and another
// command. Never a replica: compose's one-off label keeps it out of `compose ps`, of
// observe() and of the crash watcher; no healthcheck, restart policy, published port,
// network alias or Traefik label, so nothing can route to it or restart it.
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type Docker from "dockerode";
import { AbortedError, EngineError } from "../controller/errors.js";
import type { ImageInfo } from "../controller/model.js";
import type { Clock, ReplicaTemplate, TaskOptions, TaskResult, Tasks } from "../controller/ports.js";
import { call, engineError, statusOf } from "./docker.js";
import { systemClock } from "./health.js";
import { LineBuffer } from "./lines.js";
import { type ClonePlan, Label, planClone, serviceOf } from "./template.js";
import {
  type ContainerInspect,
  type EndpointSettings,
  type ImageInspect,
  isDockerTemplate,
} from "./types.js";

/** Which hook made a one-off container: found again (and removed) after a killed run. */
export const TASK_LABEL = "com.compose-roll.task";

const STDOUT_LIMIT = 1_000_000;

export interface OneOffInput {
  container: ContainerInspect;
  oldImage: ImageInspect;
  newImage: ImageInfo;
  argv: string[];
  task: string;
  /** 12 hex characters; compose names its one-offs <project>-<service>-run-<slug>. */
  slug: string;
}

/** The create request of a one-off: the service's clone, minus everything a replica has. */
export function planOneOff({ container, oldImage, newImage, argv, task, slug }: OneOffInput): ClonePlan {
  const clone = planClone({ container, oldImage, newImage, number: 1 });
  const { project, service } = serviceOf(container);
  const name = `${project}-${service}-run-${slug}`;
  const body = { ...clone.body };
  // compose's `command:` replaces CMD and keeps the image's ENTRYPOINT; so does `run`.
  body.Cmd = argv;
  body.Healthcheck = { Test: ["NONE"] };
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(body.Labels ?? {})) {
    if (!k.startsWith("traefik.") && !k.startsWith("com.compose-roll.")) labels[k] = v;
  }
  // Traefik's Docker provider exposes every container by default (exposedByDefault) and names
  // an unlabelled one's service after its compose service: the service's own. Explicitly off,
  // so no user request can reach a migration container.
  labels["traefik.enable"] = "false";
  labels[Label.oneoff] = "True";
  labels["com.docker.compose.slug"] = slug;
  labels[TASK_LABEL] = task;
  body.Labels = labels;
  const host: Record<string, unknown> = { ...body.HostConfig };
  host.RestartPolicy = { Name: "no" };
  host.AutoRemove = false; // removed by us once its exit code is read
  delete host.PortBindings;
  host.PublishAllPorts = false;
  body.HostConfig = host;
  delete body.ExposedPorts;
  // No aliases: the service's name must never resolve to a migration container.
  const strip = (ep: EndpointSettings): EndpointSettings => {
    const { Aliases: _, ...rest } = ep;
    return rest;
  };
  const endpoints = body.NetworkingConfig?.EndpointsConfig ?? {};
  if (body.NetworkingConfig) {
    body.NetworkingConfig = {
      EndpointsConfig: Object.fromEntries(Object.entries(endpoints).map(([n, ep]) => [n, strip(ep)])),
    };
  }
  return {
    name,
    body,
    connect: clone.connect.map(({ network, endpoint }) => ({ network, endpoint: strip(endpoint) })),
  };
}

export class DockerTasks implements Tasks {
  constructor(
    private readonly docker: Docker,
    private readonly clock: Clock = systemClock,
  ) {}

  async run(
    template: ReplicaTemplate,
    image: ImageInfo,
    argv: string[],
    opts: TaskOptions,
  ): Promise<TaskResult> {
    if (!isDockerTemplate(template))
      throw new TypeError("DockerTasks.run needs a template from DockerEngine");
    const t0 = this.clock.now();
    await this.removeLeftovers(template.container, opts.task);
    const plan = planOneOff({
      container: template.container,
      oldImage: template.image,
      newImage: image,
      argv,
      task: opts.task,
      slug: randomBytes(6).toString("hex"),
    });
    const created = await call(`create the ${opts.task} container ${plan.name}`, () =>
      this.docker.createContainer({
        _query: { name: plan.name },
        _body: plan.body,
      } as Docker.ContainerCreateOptions),
    );
    try {
      for (const { network, endpoint } of plan.connect) {
        await call(`connect ${plan.name} to network ${network}`, () =>
          this.docker
            .getNetwork(network)
            .connect({ Container: created.id, EndpointConfig: endpoint as Docker.EndpointSettings }),
        );
      }
      // Attached before start, so not a line of a fast command is missed.
      const stream = await call(`attach to ${plan.name}`, () =>
        created.attach({ stream: true, stdout: true, stderr: true, logs: true }),
      );
      const out = collect(this.docker, stream, opts);
      const exited = created.wait({ condition: "next-exit" } as object);
      await call(`start ${plan.name}`, () => created.start());
      const code = await this.waitFor(exited, plan.name, opts);
      // The attach stream ends with the container; a daemon that never closes it costs 5 s, not a hang.
      await Promise.race([out.ended, this.clock.sleep(5000, opts.signal).catch(() => {})]);
      return {
        exitCode: code,
        stdout: out.stdout(),
        lastError: out.lastError(),
        seconds: (this.clock.now() - t0) / 1000,
      };
    } finally {
      await created.remove({ force: true, v: false }).catch((err: unknown) => {
        if (statusOf(err) !== 404) throw engineError(err, `remove ${plan.name}`);
      });
    }
  }

  /** Resolves with the exit code; kills the container on timeout or abort and rejects. */
  private async waitFor(
    exited: Promise<{ StatusCode?: number }>,
    name: string,
    opts: TaskOptions,
  ): Promise<number> {
    const stop = new AbortController();
    const give = AbortSignal.any([opts.signal, stop.signal]);
    const timeout = this.clock.sleep(opts.timeoutMs, give).then(
      () => "timeout" as const,
      () => "aborted" as const,
    );
    const winner = await Promise.race([exited.then((r) => r.StatusCode ?? -1), timeout]);
    stop.abort();
    if (typeof winner === "number") return winner;
    if (winner === "timeout") {
      throw new EngineError(
        `${opts.task} command did not finish within ${Math.round(opts.timeoutMs / 1000)}s (${name} was killed)`,
        `make it faster or raise --${opts.task === "post-deploy" ? "post" : "pre"}-deploy-timeout`,
      );
    }
    throw new AbortedError(
      `${opts.task} command interrupted (${name} was killed)`,
      "compose-roll was interrupted",
    );
  }

  /** A run killed with us leaves its one-off behind (it may still be migrating): never two at once. */
  private async removeLeftovers(container: ContainerInspect, task: string): Promise<void> {
    const { project, service } = serviceOf(container);
    const found = await call(`list leftover ${task} containers`, () =>
      this.docker.listContainers({
        all: true,
        filters: {
          label: [`${Label.project}=${project}`, `${Label.service}=${service}`, `${TASK_LABEL}=${task}`],
        },
      }),
    );
    for (const c of found) {
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    }
  }
}

/**
 * The longest line a hook's output is held for: a longer one (a progress bar redrawn with
 * \r, a dump without newlines) is passed on in pieces of this size, as they come.
 */
export const LINE_CAP = 64 * 1024;

/** A stream that calls `emit` with each line written to it, as they come. */
export function splitLines(emit: (line: string) => void): PassThrough {
  const s = new PassThrough();
  const text = new StringDecoder("utf8"); // a character split across chunks stays whole
  const lines = new LineBuffer(LINE_CAP, "split", emit);
  s.on("data", (d: Buffer) => lines.push(text.write(d)));
  s.on("end", () => {
    lines.push(text.end());
    lines.end();
  });
  return s;
}

/** Splits the attached stream into lines as they come; keeps stdout (bounded) and stderr's last line. */
function collect(docker: Docker, stream: NodeJS.ReadableStream, opts: TaskOptions) {
  let stdout = "";
  let lastError = "";
  const sink = (kind: "stdout" | "stderr") => {
    return splitLines((line) => {
      if (kind === "stdout" && stdout.length < STDOUT_LIMIT) stdout += `${line}\n`;
      if (kind === "stderr" && line.trim()) lastError = line.trim();
      opts.onLine?.(line, kind);
    });
  };
  const [out, err] = [sink("stdout"), sink("stderr")];
  docker.modem.demuxStream(stream, out, err);
  const ended = new Promise<void>((resolve) => {
    const done = () => {
      out.end();
      err.end();
      resolve();
    };
    stream.on("end", done);
    stream.on("close", done);
    stream.on("error", done);
  });
  return { ended, stdout: () => stdout, lastError: () => lastError };
}
