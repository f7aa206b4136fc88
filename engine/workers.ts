// The Workers port (controller/release-ports.ts) over the Engine API, with compose creating
// the new containers (ComposeProject.create, `up --no-start`): listing by compose's labels,
// start, state, stop with the container's own StopSignal and StopTimeout (compose set them
// from stop_signal and stop_grace_period), remove.
import type Docker from "dockerode";
import type { ComposeProject } from "../controller/ports.js";
import type { WorkerContainer, WorkerState, Workers } from "../controller/release-ports.js";
import { call, statusOf } from "./docker.js";

/** The containers compose made for `service` (not one-off `run`s), oldest first; `all`: stopped too. */
export async function serviceContainers(
  docker: Docker,
  project: string,
  service: string,
  opts: { all: boolean },
): Promise<Docker.ContainerInfo[]> {
  const found = await call(`list ${service}'s containers`, () =>
    docker.listContainers({
      all: opts.all,
      filters: {
        label: [
          `com.docker.compose.project=${project}`,
          `com.docker.compose.service=${service}`,
          "com.docker.compose.oneoff=False",
        ],
      },
    }),
  );
  return found.sort((a, b) => a.Created - b.Created);
}

export function dockerWorkers(docker: Docker, project: string, compose: ComposeProject): Workers {
  return {
    list: async (service) =>
      (await serviceContainers(docker, project, service, { all: true })).map(
        (c): WorkerContainer => ({
          id: c.Id,
          name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
          running: c.State === "running",
          image: c.Image,
          imageId: c.ImageID,
        }),
      ),
    create: (service, count, ref) =>
      compose.create(service, count, { start: false, ...(ref ? { ref } : {}) }),
    start: (id) => call(`start ${id.slice(0, 12)}`, () => docker.getContainer(id).start()).then(() => {}),
    state: async (id): Promise<WorkerState | undefined> => {
      try {
        const c = await docker.getContainer(id).inspect();
        const h = c.State.Health?.Status;
        return {
          running: c.State.Running,
          ...(h === "starting" || h === "healthy" || h === "unhealthy" ? { health: h } : {}),
          exitCode: c.State.ExitCode,
          startedAt: Date.parse(c.State.StartedAt),
        };
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    // No `t`: the daemon uses the container's StopTimeout, i.e. the service's stop_grace_period.
    stop: (id) =>
      call(`stop ${id.slice(0, 12)}`, () =>
        docker
          .getContainer(id)
          .stop()
          .catch((err: unknown) => {
            if (statusOf(err) !== 304) throw err; // 304: already stopped
          }),
      ).then(() => {}),
    remove: (id) =>
      call(`remove ${id.slice(0, 12)}`, () =>
        docker
          .getContainer(id)
          .remove({ force: true })
          .catch((err: unknown) => {
            if (statusOf(err) !== 404) throw err;
          }),
      ).then(() => {}),
  };
}
