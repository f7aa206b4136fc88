// A tiny in-memory stand-in for the few dockerode calls state/ makes: name-unique creates
// (409 on a taken name), inspect/remove by name or ID (404 when gone), label-filtered lists.
// Hooks let a test interleave another "runner" between two calls.
import type Docker from "dockerode";

interface Fake {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  /** The "Docker host's" clock at create time, ms. */
  created: number;
  /** Named volumes it refers to. */
  volumes: string[];
}

const fail = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), { statusCode, json: { message } });

export class FakeDocker {
  readonly containers = new Map<string, Fake>();
  /** Named volumes by name: their labels. */
  readonly volumes = new Map<string, Record<string, string>>();
  readonly images = new Map<
    string,
    { Id: string; Config: { Volumes?: Record<string, object>; Labels?: Record<string, string> } }
  >();
  /** Run before a create, and after one fails with 409 (before the caller reacts). */
  beforeCreate: (() => void) | undefined;
  afterConflict: (() => void) | undefined;
  removeError: ((id: string) => Error | undefined) | undefined;
  /** Every create request, in order. */
  readonly created: { name: string; body: Record<string, unknown> }[] = [];
  private seq = 0;
  /** The "Docker host's" clock (ms): stamps creates, and is what `info()` reports. */
  hostNow = Date.parse("2026-01-01T12:00:00.000Z");

  addImage(id: string, volumes: string[] = [], Labels: Record<string, string> = {}): void {
    const Volumes = Object.fromEntries(volumes.map((v) => [v, {}]));
    this.images.set(id, { Id: id, Config: { Volumes, Labels } });
  }

  private find(key: string): Fake | undefined {
    return this.containers.get(key) ?? [...this.containers.values()].find((c) => c.name === key);
  }

  /**
   * Names taken but not yet inspectable: Docker reserves a name at the start of a create and
   * registers the container only once its layer exists, so a racer sees 409, then 404.
   */
  readonly reserved = new Set<string>();

  add(name: string, image: string, labels: Record<string, string>, volumes: string[] = []): Fake {
    if (this.find(name) || this.reserved.has(name))
      throw fail(409, `Conflict. The container name "/${name}" is already in use`);
    const c = { id: `c${++this.seq}`, name, image, labels, created: this.hostNow, volumes };
    // As Docker does: a volume a container names but nobody made is made, without labels.
    for (const v of volumes) if (!this.volumes.has(v)) this.volumes.set(v, {});
    this.containers.set(c.id, c);
    return c;
  }

  get api(): Docker {
    const api = {
      getImage: (ref: string) => ({
        inspect: async () => {
          const img = this.images.get(ref);
          if (!img) throw fail(404, `No such image: ${ref}`);
          return img;
        },
      }),
      createContainer: async (opts: { _query: { name: string }; _body: Record<string, unknown> }) => {
        const body = opts._body as {
          Image: string;
          Labels: Record<string, string>;
          HostConfig?: { Mounts?: { Source: string }[] };
        };
        const volumes = (body.HostConfig?.Mounts ?? []).map((m) => m.Source);
        this.created.push({ name: opts._query.name, body: opts._body });
        const before = this.beforeCreate;
        this.beforeCreate = undefined;
        before?.();
        try {
          return { id: this.add(opts._query.name, body.Image, { ...body.Labels }, volumes).id };
        } catch (err) {
          this.afterConflict?.();
          throw err;
        }
      },
      getContainer: (key: string) => ({
        inspect: async () => {
          const c = this.find(key);
          if (!c) throw fail(404, `No such container: ${key}`);
          return {
            Id: c.id,
            Name: `/${c.name}`,
            Image: c.image,
            Created: new Date(c.created).toISOString(),
            Config: { Labels: c.labels },
          };
        },
        remove: async () => {
          const c = this.find(key);
          if (!c) throw fail(404, `No such container: ${key}`);
          const err = this.removeError?.(c.id);
          if (err) throw err;
          this.containers.delete(c.id);
        },
      }),
      listContainers: async (opts: { filters: { label: string[] } }) =>
        [...this.containers.values()]
          .filter((c) =>
            opts.filters.label.every((f) => `${f.split("=")[0]}=${c.labels[f.split("=")[0] ?? ""]}` === f),
          )
          .map((c) => ({
            Id: c.id,
            Names: [`/${c.name}`],
            ImageID: c.image,
            Labels: c.labels,
            Created: Math.floor(c.created / 1000),
          })),
      listVolumes: async (opts: { filters: { label: string[] } }) => ({
        Volumes: [...this.volumes.entries()]
          .filter(([, l]) =>
            opts.filters.label.every((f) => `${f.split("=")[0]}=${l[f.split("=")[0] ?? ""]}` === f),
          )
          .map(([Name, Labels]) => ({ Name, Labels })),
      }),
      createVolume: async (opts: { Name: string; Labels: Record<string, string> }) => {
        // Idempotent, as Docker's: a taken name returns the existing volume, labels unchanged.
        if (!this.volumes.has(opts.Name)) this.volumes.set(opts.Name, { ...opts.Labels });
        return { name: opts.Name };
      },
      getVolume: (name: string) => ({
        inspect: async () => {
          const l = this.volumes.get(name);
          if (!l) throw fail(404, `get ${name}: no such volume`);
          return { Name: name, Labels: l };
        },
        remove: async () => {
          if (!this.volumes.has(name)) throw fail(404, `get ${name}: no such volume`);
          if ([...this.containers.values()].some((c) => c.volumes.includes(name)))
            throw fail(409, `remove ${name}: volume is in use`);
          this.volumes.delete(name);
        },
      }),
      info: async () => ({ SystemTime: new Date(this.hostNow).toISOString() }),
    };
    return api as unknown as Docker;
  }
}
