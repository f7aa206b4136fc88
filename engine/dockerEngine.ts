// The one dockerode implementation of the Engine port.
import type Docker from "dockerode";
import { EngineError } from "../controller/errors.js";
import type { ImageInfo, Replica } from "../controller/model.js";
import type { Clock, Engine, ReplicaTemplate, ServiceRef } from "../controller/ports.js";
import { call, connect, engineError, statusOf } from "./docker.js";
import { systemClock, waitHealthy } from "./health.js";
import { type AddressOptions, inspectContainer, inspectImage, listReplicas, toReplica } from "./replicas.js";
import { type ClonePlan, containerName, Label, planClone } from "./template.js";
import { type DockerReplicaTemplate, imageInfo, isDockerTemplate } from "./types.js";

export interface DockerEngineOptions extends AddressOptions {
  docker: Docker;
  /** The API version `docker` was pinned to (see connect()); informational. */
  apiVersion?: string;
  /** Times waitHealthy's timeout; tests inject a fake. */
  clock?: Clock;
}

export class DockerEngine implements Engine {
  readonly docker: Docker;
  readonly apiVersion: string | undefined;
  private readonly address: AddressOptions;
  private readonly clock: Clock;

  constructor(opts: DockerEngineOptions) {
    this.docker = opts.docker;
    this.apiVersion = opts.apiVersion;
    this.address = {
      network: opts.network,
      port: opts.port,
      portByImage: opts.portByImage,
      ...(opts.address ? { address: opts.address } : {}),
    };
    this.clock = opts.clock ?? systemClock;
  }

  /** Connects from DOCKER_HOST & co. (or `docker` options), negotiating the API version. */
  static async connect(
    opts: Omit<DockerEngineOptions, "docker" | "apiVersion"> & { docker?: Docker.DockerOptions } = {},
  ): Promise<DockerEngine> {
    const { docker, apiVersion } = await connect(opts.docker);
    return new DockerEngine({ ...opts, docker, apiVersion });
  }

  async image(ref: string): Promise<ImageInfo | undefined> {
    const img = await inspectImage(this.docker, ref);
    return img && imageInfo(ref, img);
  }

  replicas(svc: ServiceRef): Promise<Replica[]> {
    return listReplicas(this.docker, svc, this.address);
  }

  async template(containerId: string): Promise<ReplicaTemplate> {
    const container = await inspectContainer(this.docker, containerId);
    if (!container) {
      throw new EngineError(
        `Docker: container ${containerId.slice(0, 12)} no longer exists`,
        "it was removed while compose-roll ran; run `docker compose up -d` and retry",
      );
    }
    const image = await inspectImage(this.docker, container.Image);
    if (!image) {
      throw new EngineError(
        `Docker: the image of ${container.Name.slice(1)} (${container.Image.slice(0, 19)}) is gone`,
        "pull or rebuild the service's current image, then retry",
      );
    }
    const ref = container.Config.Labels?.[Label.imageRef] ?? container.Config.Image ?? image.Id;
    const t: DockerReplicaTemplate = {
      kind: "replica-template",
      sourceImage: imageInfo(ref, image),
      container,
      image,
    };
    return t;
  }

  async start(
    template: ReplicaTemplate,
    image: ImageInfo,
    number: number,
    labels?: Record<string, string>,
  ): Promise<Replica> {
    if (!isDockerTemplate(template))
      throw new TypeError("DockerEngine.start needs a template from DockerEngine");
    const plan = planClone({
      container: template.container,
      oldImage: template.image,
      newImage: image,
      number,
      ...(labels ? { extraLabels: labels } : {}),
    });
    const { name } = plan;
    // `_query`/`_body` keep the options out of the URL (dockerode#144: HTTP 414 on big configs).
    let created: Docker.Container;
    try {
      created = await this.docker.createContainer({
        _query: { name },
        _body: plan.body,
      } as Docker.ContainerCreateOptions);
    } catch (err) {
      const taken = statusOf(err) === 409;
      const hint = `remove whatever holds the name (\`docker ps -a --filter name=${name}\`) and retry`;
      throw engineError(err, `create container ${name}`, taken ? hint : undefined);
    }
    return this.launch(created, name, image, plan.connect);
  }

  async startCreated(id: string, image: ImageInfo): Promise<Replica> {
    const c = await inspectContainer(this.docker, id);
    if (!c)
      throw new EngineError(`Docker: container ${id.slice(0, 12)} vanished right after compose created it`);
    return this.launch(this.docker.getContainer(id), containerName(c), image, []);
  }

  /** Checks a created container's image, joins its other networks, starts it; removes it on failure. */
  private async launch(
    created: Docker.Container,
    name: string,
    image: ImageInfo,
    connect: ClonePlan["connect"],
  ): Promise<Replica> {
    try {
      const fresh = await inspectContainer(this.docker, created.id);
      // The ref was resolved earlier; if the tag moved since, this is not the image we vetted.
      if (fresh && fresh.Image !== image.id) {
        throw new EngineError(
          `Docker: ${image.ref} now points to ${fresh.Image.slice(0, 19)}, not ${image.id.slice(0, 19)}`,
          "the tag moved during the rollout; retry with an image ID or a fixed tag",
        );
      }
      for (const { network, endpoint } of connect) {
        await call(
          `connect ${name} to network ${network}`,
          () =>
            this.docker
              .getNetwork(network)
              .connect({ Container: created.id, EndpointConfig: endpoint as Docker.EndpointSettings }),
          `check that network ${network} still exists (\`docker network ls\`)`,
        );
      }
      await call(
        `start container ${name}`,
        () => created.start(),
        "the daemon's message names the cause (port, mount, device...); fix it on the host and retry",
      );
    } catch (err) {
      // A created-but-unstarted container would block its number and confuse `docker compose ps`.
      await created.remove({ force: true, v: false }).catch(() => {});
      throw err;
    }
    const c = await inspectContainer(this.docker, created.id);
    if (!c) {
      throw new EngineError(
        `Docker: ${name} vanished right after it started`,
        `see \`docker events --since 5m\``,
      );
    }
    return toReplica(c, image.exposedPorts, this.address);
  }

  waitHealthy(replica: Replica, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return waitHealthy(this.docker, replica, timeoutMs, signal, this.clock);
  }

  async stopAndRemove(replica: Replica, opts: { quick?: boolean } = {}): Promise<void> {
    const container = this.docker.getContainer(replica.id);
    try {
      // No `t`: Docker then waits the container's own StopTimeout (compose's stop_grace_period)
      // after sending its own StopSignal. Quick: one second, it never served anyone.
      await container.stop(opts.quick ? { t: 1 } : {});
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return;
      if (status !== 304) throw engineError(err, `stop container ${replica.name}`);
    }
    try {
      // v: false — named and anonymous volumes outlive the container, as with compose.
      await container.remove({ v: false });
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return;
      if (status === 409 && /already in progress/i.test(String((err as Error).message))) return;
      throw engineError(err, `remove container ${replica.name}`);
    }
  }
}
