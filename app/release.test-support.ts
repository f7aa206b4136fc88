// An in-memory compose service of workers for the release's unit tests: every create, start,
// stop and remove is logged in order, so a test can assert what happened before what.
import type { WorkerContainer, WorkerState, Workers } from "../controller/release-ports.js";

interface Box extends WorkerContainer {
  service: string;
  startedAt: number;
  health?: WorkerState["health"];
  exitCode: number;
}

export class FakeWorkers implements Workers {
  boxes: Box[] = [];
  log: string[] = [];
  /** Called after each start (a test sends itself a signal there). */
  onStart: (id: string) => void = () => {};
  private seq = 0;

  constructor(
    private readonly now: () => number,
    /** service → the image compose creates its new containers with. */
    readonly files: Record<string, string>,
    /** Images whose containers exit at once (a worker that crashes at boot). */
    readonly crashing: string[] = [],
  ) {}

  seed(service: string, n: number, image: string): this {
    for (let i = 0; i < n; i++) this.add(service, image, true);
    return this;
  }

  private add(service: string, image: string, running: boolean): Box {
    const b: Box = {
      id: `${service}-${++this.seq}`,
      name: `p-${service}-${this.seq}`,
      service,
      image,
      running,
      startedAt: this.now(),
      exitCode: 0,
    };
    this.boxes.push(b);
    return b;
  }

  running(service: string): string[] {
    return this.boxes.filter((b) => b.service === service && b.running).map((b) => b.image);
  }

  async list(service: string) {
    return this.boxes
      .filter((b) => b.service === service)
      .map(({ id, name, running, image }) => ({ id, name, running, image }));
  }
  async create(service: string, count: number, ref?: string) {
    const image = ref ?? (this.files[service] as string);
    const ids = Array.from({ length: count }, () => this.add(service, image, false).id);
    this.log.push(`create ${ids.join(",")}`);
    return ids;
  }
  async start(id: string) {
    const b = this.get(id);
    b.startedAt = this.now();
    b.running = !this.crashing.includes(b.image);
    b.exitCode = b.running ? 0 : 3;
    this.log.push(`start ${id}`);
    this.onStart(id);
  }
  async state(id: string) {
    const b = this.boxes.find((x) => x.id === id);
    if (!b) return undefined;
    return {
      running: b.running,
      exitCode: b.exitCode,
      startedAt: b.startedAt,
      ...(b.health ? { health: b.health } : {}),
    };
  }
  async stop(id: string) {
    this.get(id).running = false;
    this.log.push(`stop ${id}`);
  }
  async remove(id: string) {
    this.boxes = this.boxes.filter((b) => b.id !== id);
    this.log.push(`remove ${id}`);
  }
  private get(id: string): Box {
    const b = this.boxes.find((x) => x.id === id);
    if (!b) throw new Error(`no container ${id}`);
    return b;
  }
}
