// The two routing modes as complete Router adapters: each says how it routes (describe())
// in its own words, and file mode adds the capability label mode lacks, a server list
// compose-roll owns (sync, repair, the dry run's diff). Label mode also gets its engine:
// one that never stops a container Traefik still lists without draining it first.
import type Docker from "dockerode";
import type { Replica } from "../controller/model.js";
import type { Clock, OwnedServers, Router, Routing, ServiceRef } from "../controller/ports.js";
import { DockerEngine, type DockerEngineOptions } from "../engine/dockerEngine.js";
import type { HostHttp } from "../host/hostio.js";
import { TraefikApi } from "./api.js";
import { LabelRouter } from "./docker-provider.js";
import { setServers } from "./file.js";
import { type DrainMethod, describeDrain } from "./labels.js";
import { TraefikRouter } from "./router.js";

/** File mode: compose-roll owns a file of Traefik's file provider and proves each server through Traefik. */
export class FileModeRouter extends TraefikRouter implements Router, OwnedServers {
  readonly owned: OwnedServers = this;

  describe(): Routing {
    return {
      mode: "file",
      summary: "file (compose-roll owns a file of Traefik's file provider)",
      service: `${this.service}@file`,
      file: this.file,
      steps: {
        route: (name) => `prove ${name} answers through Traefik, then add it to Traefik`,
        retire: (name, image) => `take ${name} (${image}) out of Traefik, drain, stop and remove it`,
      },
    };
  }

  async preview(urls: string[]): Promise<{ before?: string; after: string }> {
    const before = await this.text();
    return {
      ...(before !== undefined ? { before } : {}),
      after: setServers(before, this.service, urls, this.file),
    };
  }

  async routed(signal: AbortSignal): Promise<boolean | undefined> {
    const routers = await this.api.routersFor(this.service, signal).catch(() => undefined);
    return routers && routers.length > 0;
  }
}

export interface LabelModeOptions {
  /** The service as Traefik's API names it (…@docker). */
  service: string;
  /** Undefined when no safe drain exists and unsafe was not allowed (`refusal` says why). */
  drain?: DrainMethod;
  refusal?: Error & { hint?: string };
  docker: Docker;
  /** The service's containers as the engine sees them (with the addresses Traefik uses). */
  engine: DockerEngine;
  svc: ServiceRef;
  /** Traefik's API base URL. */
  api: string;
  probePath: string;
  clock: Clock;
  http?: HostHttp;
}

/** Label mode: Traefik's Docker provider adds healthy containers itself; compose-roll drains the old. */
export class LabelModeRouter extends LabelRouter implements Router {
  constructor(private readonly routing: LabelModeOptions) {
    const { http, clock } = routing;
    super({
      api: new TraefikApi({ url: routing.api, clock, ...(http ? { http } : {}) }),
      ...(http ? { http } : {}),
      service: routing.service,
      docker: routing.docker,
      replicas: () => routing.engine.replicas(routing.svc),
      drain: routing.drain ?? { kind: "unsafe" },
      probePath: routing.probePath,
      clock,
    });
  }

  describe(): Routing {
    const { drain, refusal, service } = this.routing;
    return {
      mode: "labels",
      summary: `labels (Traefik's Docker provider routes ${service})`,
      service,
      ...(drain ? { drain: describeDrain(drain) } : {}),
      ...(refusal ? { refusal } : {}),
      steps: {
        route: (name) =>
          `wait until Traefik lists ${name} (it adds a healthy container itself), then prove ${name} answers a direct request`,
        retire: (name, image) =>
          drain?.kind === "unsafe"
            ? `stop and remove ${name} (${image}) while Traefik may still send to it (no drain)`
            : `drain ${name} (${image}) until Traefik drops it, wait, stop and remove it`,
      },
    };
  }
}

/**
 * The engine for label mode: before stopping a container Traefik lists or may still add (one
 * the controller never saw routed, e.g. a new one that turned healthy and joined by itself
 * while a rollback was deciding to remove it), drain it and wait `drainMs`, so no stop ever
 * cuts a server Traefik sends to.
 */
export class DrainFirstEngine extends DockerEngine {
  router: LabelRouter | undefined;

  constructor(
    opts: DockerEngineOptions,
    private readonly timing: { routeMs: number; drainMs: number; clock: Clock },
  ) {
    super(opts);
  }

  override async stopAndRemove(replica: Replica, opts: { quick?: boolean } = {}): Promise<void> {
    const never = new AbortController().signal;
    if (this.router && (await this.router.drainBeforeStop(replica, this.timing.routeMs, never))) {
      await this.timing.clock.sleep(this.timing.drainMs, never);
      return super.stopAndRemove(replica, {});
    }
    return super.stopAndRemove(replica, opts);
  }
}
