// An in-memory Docker host and Traefik for unit tests of the controller. Each action can
// be made to fail, and every change to Traefik's server list is checked against the
// promise that matters: never fewer than N healthy containers serving.
import { AbortedError, EngineError, HealthError, RoutingError } from "./errors.js";
import type { ImageInfo, Replica } from "./model.js";
import type {
  Clock,
  Engine,
  ReplicaTemplate,
  Reporter,
  RolloutEvent,
  Router,
  Routing,
  ServiceRef,
} from "./ports.js";

/** One running, healthy replica of demo/web on app:v3; `over` changes any field. */
export const aReplica = (over: Partial<Replica> = {}): Replica => ({
  id: "c1",
  name: "demo-web-1",
  number: 1,
  imageId: "sha256:v3",
  imageRef: "app:v3",
  running: true,
  health: "healthy",
  url: "http://10.0.0.1:8000",
  ...over,
});

export type Fault = "start" | "health" | "crash" | "health-timeout" | "verify" | "route" | "unroute" | "stop";

export class FakeWorld implements Engine, Router, Clock, Reporter {
  replicasById = new Map<string, Replica>();
  routed: string[] = [];
  events: RolloutEvent[] = [];
  /** Lowest number of healthy routed containers seen after any router change. */
  minServing = Number.POSITIVE_INFINITY;
  time = 0;
  private seq = 0;

  constructor(
    readonly images: ImageInfo[],
    /** fault → image IDs (or "*") it applies to; "route"/"unroute"/"stop" apply to any call. */
    readonly faults: Partial<Record<Fault, string>> = {},
    /** Abort this controller when the n-th event is reported. */
    readonly interrupt?: { controller: AbortController; atEvent: number | ((e: RolloutEvent) => boolean) },
  ) {}

  seed(n: number, image: ImageInfo, configHash?: string): this {
    for (let i = 1; i <= n; i++) {
      const r = this.make(i, image, "healthy");
      if (configHash) r.configHash = configHash;
      this.routed.push(r.url as string);
    }
    return this;
  }

  private make(number: number, image: ImageInfo, health: Replica["health"]): Replica {
    const id = `c${++this.seq}`;
    const r: Replica = {
      id,
      name: `demo-web-${number}`,
      number,
      imageId: image.id,
      imageRef: image.ref,
      running: true,
      health,
      url: `http://10.0.0.${this.seq}:8000`,
    };
    this.replicasById.set(id, r);
    return r;
  }

  private faulty(f: Fault, imageId?: string): boolean {
    const v = this.faults[f];
    return v !== undefined && (v === "*" || v === imageId);
  }

  serving(): number {
    return [...this.replicasById.values()].filter(
      (r) => r.running && r.health === "healthy" && r.url && this.routed.includes(r.url),
    ).length;
  }

  // Engine
  async image(ref: string) {
    return this.images.find((i) => i.ref === ref || i.id === ref);
  }
  async replicas(_svc: ServiceRef) {
    return [...this.replicasById.values()].map((r) => ({ ...r }));
  }
  async template(id: string): Promise<ReplicaTemplate> {
    const r = this.replicasById.get(id);
    const image = this.images.find((i) => i.id === r?.imageId) as ImageInfo;
    return { kind: "replica-template", sourceImage: image, configHash: r?.configHash } as ReplicaTemplate;
  }
  /** A clone copies the source's labels (its config hash among them); `labels` win. */
  async start(t: ReplicaTemplate, image: ImageInfo, number: number, labels?: Record<string, string>) {
    if (this.faulty("start", image.id)) throw new EngineError("create failed");
    const r = this.make(number, image, "starting");
    const hash =
      labels?.["com.docker.compose.config-hash"] ?? (t as { configHash?: string } | undefined)?.configHash;
    if (hash) r.configHash = hash;
    return { ...r };
  }
  /** What compose would create for the files now: set by a test of a configuration change. */
  composeConfig: string | undefined;
  /** IDs "compose" created and not yet started, with the image it created them from. */
  created = new Map<string, ImageInfo>();
  async createWithCompose(image: ImageInfo): Promise<string> {
    const id = `k${++this.seq}`;
    this.created.set(id, image);
    return id;
  }
  async startCreated(id: string, image: ImageInfo) {
    const made = this.created.get(id);
    if (!made) throw new EngineError(`no created container ${id}`);
    this.created.delete(id);
    if (this.faulty("start", image.id)) throw new EngineError("start failed");
    const numbers = [...this.replicasById.values()].map((r) => r.number);
    const r = this.make(Math.max(0, ...numbers) + 1, made, "starting");
    if (this.composeConfig) r.configHash = this.composeConfig;
    return { ...r };
  }
  async waitHealthy(replica: Replica, timeoutMs: number, signal: AbortSignal) {
    if (signal.aborted) throw new AbortedError("aborted");
    const r = this.replicasById.get(replica.id) as Replica;
    if (this.faulty("crash", r.imageId)) {
      Object.assign(r, { running: false, exitCode: 1 });
      throw new HealthError(`${r.name} exited with code 1`);
    }
    if (this.faulty("health", r.imageId)) {
      r.health = "unhealthy";
      throw new HealthError(`${r.name} is unhealthy`);
    }
    if (this.faulty("health-timeout", r.imageId)) {
      this.time += timeoutMs;
      throw new HealthError(`${r.name} not healthy after ${timeoutMs} ms`);
    }
    this.time += 2000;
    r.health = "healthy";
  }
  /**
   * Docker's timing, where it matters: a stop leaves the container exited for a moment before
   * the remove, and Traefik's API answers after the container list; a drain can end between.
   */
  lagging = false;
  private tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  async stopAndRemove(replica: Replica) {
    if (this.faulty("stop")) throw new EngineError("stop failed");
    const r = this.replicasById.get(replica.id);
    if (this.lagging && r) {
      Object.assign(r, { running: false, exitCode: 0 });
      await this.tick();
    }
    this.replicasById.delete(replica.id);
  }

  // Router
  describe(): Routing {
    return {
      mode: "file",
      summary: "file (in memory)",
      service: "web@file",
      steps: { route: (name) => `route ${name}`, retire: (name) => `retire ${name}` },
    };
  }
  /** The probe route prepare()/verify() left, as the file router keeps it until the next write. */
  probe: string | undefined;
  /** Label mode's wait until Traefik dropped a drained server; unset (file mode) by default. */
  leaving?: (url: string, timeoutMs: number, signal: AbortSignal) => Promise<void>;
  async servers() {
    const routed = [...this.routed];
    if (this.lagging) for (let i = 0; i < 3; i++) await this.tick();
    return routed;
  }
  async prepare(url: string) {
    this.probe = url;
  }
  async clear() {
    this.probe = undefined;
  }
  async verify(url: string) {
    const r = [...this.replicasById.values()].find((x) => x.url === url);
    if (this.faulty("verify", r?.imageId)) {
      this.probe = undefined;
      throw new RoutingError(`Traefik could not reach ${url}`);
    }
    this.probe = url;
  }
  async setServers(urls: string[]) {
    const adding = urls.some((u) => !this.routed.includes(u));
    if (this.faulty(adding ? "route" : "unroute")) throw new RoutingError("Traefik did not take the change");
    this.probe = undefined;
    this.routed = [...urls];
    this.minServing = Math.min(this.minServing, this.serving());
  }

  // Clock
  now() {
    return this.time;
  }
  async sleep(ms: number) {
    this.time += ms;
  }

  // Reporter
  event(e: RolloutEvent) {
    this.events.push(e);
    const at = this.interrupt?.atEvent;
    if (typeof at === "function" ? at(e) : this.events.length === at) this.interrupt?.controller.abort();
  }
}
