// Fakes of the Swarm use cases: a cluster whose services and tasks live in memory and a Traefik
// that sees them one poll late. The cluster refuses to stop a task Traefik still lists.
import type { History, Lock, Revision } from "../controller/ports.js";
import type { SwarmCluster, SwarmRouting, SwarmSnapshot } from "../controller/swarm-ports.js";
import type { SwarmTaskView } from "../controller/swarm-rollout.js";
import type { SwarmRollContext } from "./swarm-roll.js";

export const L = {
  "com.docker.stack.namespace": "shop",
  "traefik.enable": "true",
  "traefik.http.routers.shop-web.rule": "PathPrefix(`/`)",
  "traefik.http.services.shop-web.loadbalancer.server.port": "8000",
};
export interface Svc {
  image: string;
  labels: Record<string, string>;
  replicas: number;
  version: number;
  tasks: SwarmTaskView[];
}

export class FakeSwarm implements SwarmCluster, SwarmRouting {
  services = new Map<string, Svc>();
  /** What Traefik lists, per balancer, as of its last poll. */
  private seen = new Map<string, string[]>();
  private calls = 0;
  private ip = 0;
  constructor(private readonly broken: string) {
    this.services.set("shop_web", { image: "app:v1", labels: L, replicas: 3, version: 10, tasks: [] });
    this.start("shop_web");
  }
  /** A stand-in a killed run left, in the users' balancer. */
  leave(name: string) {
    this.services.set(name, { image: "app:v0", labels: L, replicas: 1, version: 1, tasks: [] });
    this.start(name);
  }
  /**
   * Its node lost: the first task of `name` left behind (desired shutdown; Swarm last heard it
   * running), a replacement elsewhere that runs after `reads` more reads of the tasks.
   */
  lose(name: string, reads = 0) {
    const s = this.services.get(name) as Svc;
    const [gone, ...rest] = s.tasks;
    if (!gone) throw new Error(`${name} has no task to lose`);
    this.ip++;
    this.imageOf.set(`t${this.ip}`, s.image);
    const fresh = {
      id: `t${this.ip}`,
      state: "starting",
      desired: "running",
      addresses: [`10.0.0.${this.ip}`],
    };
    this.starting.push({ task: fresh, reads });
    s.tasks = [...rest, fresh];
    const ended = this.ended.get(name) ?? [];
    ended.push({ image: s.image, task: { ...gone, desired: "shutdown" } });
    this.ended.set(name, ended);
    this.tick();
  }
  private starting: { task: SwarmTaskView; reads: number }[] = [];
  private tick() {
    for (const t of this.starting) if (t.reads-- <= 0) t.task.state = "running";
    this.starting = this.starting.filter((t) => t.task.state !== "running");
  }
  /** Tasks that ended, by service, with the image each ran: Swarm keeps them (task history). */
  private ended = new Map<string, { image: string; task: SwarmTaskView }[]>();
  private imageOf = new Map<string, string>();
  private start(name: string) {
    const s = this.services.get(name) as Svc;
    const ended = this.ended.get(name) ?? [];
    for (const t of s.tasks)
      ended.push({
        image: this.imageOf.get(t.id) ?? "",
        task: { ...t, state: "shutdown", desired: "shutdown" },
      });
    this.ended.set(name, ended);
    // By name: a pinned `ref@digest` of the broken image is as broken.
    const state = s.image.split("@")[0] === this.broken ? "failed" : "running";
    s.tasks = Array.from({ length: s.replicas }, () => {
      this.ip++;
      this.imageOf.set(`t${this.ip}`, s.image);
      return { id: `t${this.ip}`, state, desired: "running", addresses: [`10.0.0.${this.ip}`] };
    });
  }
  /** In the users' balancer: a probe router carries only compose-roll's own probes. */
  private listed(name: string) {
    const ips = new Set(this.seen.get("shop-web") ?? []);
    return (this.services.get(name)?.tasks ?? []).some((t) => ips.has(`http://${t.addresses[0]}:8000`));
  }
  /** The fewest servers Traefik listed for the users' balancer at any poll after the first. */
  minServing = Number.POSITIVE_INFINITY;
  private poll() {
    if (this.seen.size > 0)
      this.minServing = Math.min(this.minServing, this.seen.get("shop-web")?.length ?? 0);
    this.seen.clear();
    for (const s of this.services.values()) {
      if (s.labels["traefik.enable"] !== "true") continue;
      for (const k of Object.keys(s.labels)) {
        const lb = /^traefik\.http\.services\.([^.]+)\./.exec(k)?.[1];
        if (!lb) continue;
        const running = s.tasks.filter((t) => t.state === "running");
        this.seen.set(lb, [
          ...(this.seen.get(lb) ?? []),
          ...running.map((t) => `http://${t.addresses[0]}:8000`),
        ]);
      }
    }
  }
  async servers(lb: string) {
    if (++this.calls % 3 === 0) this.poll();
    return this.seen.get(lb);
  }
  async probe() {
    return { ok: true, detail: "HTTP 200" };
  }
  async snapshot(name: string): Promise<SwarmSnapshot> {
    const s = this.services.get(name) as Svc;
    return {
      view: { name, version: s.version, image: s.image, replicas: s.replicas, labels: s.labels },
      spec: { ...s },
    };
  }
  async origin(name: string, standIn: string): Promise<SwarmSnapshot> {
    const s = await this.snapshot(name);
    const labels = this.services.get(standIn)?.labels ?? {};
    return { view: { ...s.view, labels }, spec: { ...(s.spec as Svc), labels } };
  }
  async resolve(image: string) {
    return image;
  }
  async createStandIn(_: SwarmSnapshot, name: string, image: string, labels: Record<string, string>) {
    this.services.set(name, { image, labels, replicas: 1, version: 1, tasks: [] });
    this.start(name);
  }
  private bump(name: string, edit: (s: Svc) => void) {
    const s = this.services.get(name) as Svc;
    edit(s);
    s.version++;
  }
  async setLabels(name: string, labels: Record<string, string>) {
    this.bump(name, (s) => {
      s.labels = labels;
    });
  }
  async replace(name: string, image: string, labels: Record<string, string>) {
    const same = this.services.get(name)?.image === image;
    if (!same && this.listed(name)) throw new Error(`stopped ${name}'s tasks while Traefik lists them`);
    this.bump(name, (s) => {
      s.image = image;
      s.labels = labels;
    });
    // As on Swarm: a change of labels alone restarts no task.
    if (!same) this.start(name);
  }
  async putBack(name: string, labels: Record<string, string>) {
    await this.setLabels(name, labels);
  }
  async restore(from: SwarmSnapshot) {
    await this.replace(from.view.name, from.view.image, from.view.labels);
  }
  async resubmit(name: string) {
    this.bump(name, () => {});
  }
  /** As the Engine adapter reads them: tasks of the current spec's image, ended ones too. */
  async tasks(name: string) {
    this.tick();
    const s = this.services.get(name);
    if (!s) return [];
    return [
      ...s.tasks,
      ...(this.ended.get(name) ?? []).filter((e) => e.image === s.image).map((e) => e.task),
    ];
  }
  async taskIds(name: string) {
    const s = this.services.get(name);
    return [...(s?.tasks ?? []), ...(this.ended.get(name) ?? []).map((e) => e.task)].map((t) => t.id);
  }
  async standIns(name: string) {
    return [...this.services.keys()].filter((k) => k.startsWith(`${name}-standin-`));
  }
  async remove(name: string) {
    if (this.listed(name)) throw new Error(`removed ${name} while Traefik lists it`);
    this.services.delete(name);
  }
}

export function context(f: FakeSwarm, records: Revision[]): SwarmRollContext {
  let now = 0;
  const lock: Lock = {
    acquire: async () => ({ acquired: true }),
    read: async () => undefined,
    renew: async () => true,
    release: async () => {},
  };
  const history: History = {
    list: async () => records,
    record: async (_, rev) => {
      records.unshift(rev);
    },
  };
  return {
    cluster: f,
    routing: f,
    clock: {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    },
    say: () => {},
    token: () => "t",
    healthTimeoutMs: 60_000,
    routeTimeoutMs: 60_000,
    drainMs: 1000,
    lock,
    history,
    actor: { user: "u", host: "h", pid: 1 },
    command: "web --image app:v2",
    svc: { project: "shop", service: "web" },
    name: "shop_web",
    historyLimit: 10,
  };
}
