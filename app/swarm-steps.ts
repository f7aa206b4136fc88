// The steps of a Swarm rollout (controller/swarm-rollout.ts names them), each ending in a wait
// on what the cluster and Traefik's API observe. The stand-ins are made and proven side by side.
import { HealthError, RoutingError } from "../controller/errors.js";
import type { Clock } from "../controller/ports.js";
import type { SwarmCluster, SwarmRouting, SwarmSnapshot } from "../controller/swarm-ports.js";
import {
  type Balancer,
  disabled,
  probeLabels,
  routingVerdict,
  type SwarmTaskView,
  serviceProbeRouter,
  standInName,
  tasksVerdict,
  type Verdict,
} from "../controller/swarm-rollout.js";

export interface StepsContext {
  cluster: SwarmCluster;
  routing: SwarmRouting;
  clock: Clock;
  say(line: string): void;
  /** A fresh probe token. */
  token(): string;
  healthTimeoutMs: number;
  /** How long Traefik may take to show a change: the route timeout plus two provider polls. */
  routeTimeoutMs: number;
  /** After Traefik stops listing a server: time for its requests in flight to finish. */
  drainMs: number;
  /** Aborted (SIGINT, SIGTERM): the wait in hand ends, and the rollout restores what it changed. */
  signal?: AbortSignal;
}

const never = new AbortController().signal;
/** One task of the new image that ended is enough: Swarm replaces an unhealthy task, it never recovers. */
const FAILED_TASKS = 1;

export class SwarmSteps {
  private readonly name: string;
  private readonly replicas: number;
  private readonly labels: Record<string, string>;
  /** Stand-ins created so far: whether each exists yet, and whether it carries the users' labels. */
  private readonly made = new Map<string, { exists: boolean; joined: boolean }>();
  /** Cleared once undoing or finishing: those steps run to the end whatever the signal says. */
  interruptible = true;

  constructor(
    private readonly ctx: StepsContext,
    private readonly snap: SwarmSnapshot,
    private readonly lb: Balancer,
    private readonly image: string,
    /** The labels the service ends with (its own, the stack's image label naming the new ref). */
    private readonly final: Record<string, string>,
  ) {
    this.name = snap.view.name;
    this.replicas = snap.view.replicas;
    this.labels = snap.view.labels;
  }

  /** N one-task services of the new image, each proven through its probe router, then in the users' balancer. */
  async standIns(): Promise<void> {
    const names = Array.from({ length: this.replicas }, (_, i) => standInName(this.name, i + 1));
    this.ctx.say(`starting ${names.length} stand-in(s) of ${this.image}`);
    // Settled, not all: a failure waits for the others, so cleanup never races a create.
    const done = await Promise.allSettled(
      names.map(async (s) => {
        const token = this.ctx.token();
        const router = `${s.replaceAll("_", "-")}-probe`;
        this.made.set(s, { exists: false, joined: false });
        await this.ctx.cluster.createStandIn(
          this.snap,
          s,
          this.image,
          probeLabels(this.labels, this.lb, router, token),
        );
        this.made.set(s, { exists: true, joined: false });
        await this.healthy(s, 1);
        await this.routed(router, () => this.running(s), `${s}'s probe router`, 1);
        await this.proven(token, 1, s);
      }),
    );
    const failed = done.find((d) => d.status === "rejected");
    if (failed) throw failed.reason;
    for (const s of names) {
      await this.ctx.cluster.setLabels(s, this.labels);
      this.made.set(s, { exists: true, joined: true });
    }
    await this.routed(this.lb.name, () => this.all(), "stand-ins beside the service", 2 * this.replicas);
  }

  /** The real service out of Traefik once N stand-ins serve beside it; its tasks drained. */
  async handOver(): Promise<void> {
    // Again: a node lost since leaves a stand-in short until Swarm has replaced its task.
    await this.routed(this.lb.name, () => this.all(), "stand-ins beside the service", 2 * this.replicas);
    this.ctx.say(`taking ${this.name} out of Traefik: the stand-ins serve`);
    await this.ctx.cluster.setLabels(this.name, disabled(this.labels));
    await this.routed(this.lb.name, () => this.standInTasks(), "only the stand-ins", this.replicas);
    await this.ctx.clock.sleep(this.ctx.drainMs, never);
  }

  /**
   * The real service on the new image while out of Traefik, its tasks proven through a probe router.
   * `resume`: a repair, on the image the service may already run (a change of labels alone restarts
   * no task), so the tasks running now count, and only a timeout says the image fails.
   */
  async replace(resume = false): Promise<void> {
    this.ctx.say(`updating ${this.name} to ${this.image} while the stand-ins serve`);
    const token = this.ctx.token();
    const router = serviceProbeRouter(this.name);
    // Swarm keeps the tasks it ended: those of an image the service ran before (an undo goes back
    // to one) are not this update's failures.
    const earlier = new Set(resume ? [] : await this.ctx.cluster.taskIds(this.name));
    await this.ctx.cluster.replace(this.name, this.image, probeLabels(this.labels, this.lb, router, token));
    const maxFailed = resume ? Number.POSITIVE_INFINITY : FAILED_TASKS;
    await this.healthy(this.name, this.replicas, maxFailed, earlier);
    await this.routed(router, () => this.running(this.name), `${this.name}'s probe router`, this.replicas);
    await this.proven(token, 2 * this.replicas, this.name);
  }

  /** The service's own labels and update config back: Traefik lists its tasks beside the stand-ins. */
  async putBack(): Promise<void> {
    await this.ctx.cluster.putBack(this.name, this.final, this.snap);
    // One task a stand-in in the users' balancer (a repair may find fewer than N), N of the service.
    const joined = [...this.made.values()].filter((m) => m.joined).length;
    await this.routed(
      this.lb.name,
      () => this.all(),
      "the service beside the stand-ins",
      joined + this.replicas,
    );
  }

  /** Stand-ins out of Traefik, drained, removed. */
  async retire(): Promise<void> {
    this.ctx.say("retiring the stand-ins");
    await this.removeStandIns();
  }

  async settle(): Promise<void> {
    await this.ctx.cluster.resubmit(this.name);
  }

  /** The service's N tasks running: a repair waits for them before Traefik is to list them. */
  async serviceHealthy(): Promise<void> {
    await this.healthy(this.name, this.replicas, Number.POSITIVE_INFINITY);
  }

  /** The snapshot's spec back; its tasks healthy (it is out of Traefik until then). */
  async restoreService(): Promise<void> {
    this.ctx.say(`putting ${this.name} back as it was`);
    await this.ctx.cluster.restore(this.snap);
    await this.healthy(this.name, this.replicas, Number.POSITIVE_INFINITY);
    await this.routed(this.lb.name, () => this.all(), "the service beside the stand-ins");
  }

  /**
   * Stand-ins a killed run left: removed as this run's own are. Without `joined`, each is taken to
   * be in the users' balancer (taking one out that is not changes nothing).
   */
  adopt(names: string[], joined: (name: string) => boolean = () => true): void {
    for (const s of names) this.made.set(s, { exists: true, joined: joined(s) });
  }

  /**
   * Every stand-in made, each out of Traefik first (its probe router too: a stand-in is removed
   * only once Traefik lists it nowhere), then drained: one a killed run was taking out may have
   * left the users' balancer only just now, with requests still in flight.
   */
  async removeStandIns(): Promise<void> {
    const made = [...this.made].filter(([, m]) => m.exists);
    if (made.length > 0) {
      // The service's N tasks serve before the stand-ins leave (a node lost may have cost it one).
      await this.healthy(this.name, this.replicas, Number.POSITIVE_INFINITY);
      for (const [s] of made) await this.ctx.cluster.setLabels(s, disabled(this.labels));
      await this.routed(this.lb.name, () => this.running(this.name), "the service alone", this.replicas);
      await this.ctx.clock.sleep(this.ctx.drainMs, never);
    }
    for (const s of this.made.keys()) await this.ctx.cluster.remove(s);
    this.made.clear();
  }

  /** The stand-ins' running tasks and the service's. */
  private async all(): Promise<SwarmTaskView[]> {
    return [...(await this.standInTasks()), ...(await this.running(this.name))];
  }

  /** Tasks of the stand-ins in the users' balancer: those Traefik lists there. */
  private async standInTasks(): Promise<SwarmTaskView[]> {
    const joined = [...this.made].filter(([, m]) => m.joined).map(([s]) => s);
    const each = await Promise.all(joined.map((s) => this.running(s)));
    return each.flat();
  }

  private async running(name: string): Promise<SwarmTaskView[]> {
    return (await this.ctx.cluster.tasks(name)).filter(
      (t) => t.state === "running" && t.desired === "running",
    );
  }

  private async healthy(
    name: string,
    want: number,
    maxFailed = FAILED_TASKS,
    earlier = new Set<string>(),
  ): Promise<SwarmTaskView[]> {
    await this.until(this.ctx.healthTimeoutMs, `${want} healthy task(s) of ${name}`, HealthError, async () =>
      tasksVerdict(
        (await this.ctx.cluster.tasks(name)).filter((t) => !earlier.has(t.id)),
        want,
        maxFailed,
      ),
    );
    return this.running(name);
  }

  /**
   * Until Traefik lists exactly the servers of the tasks `expected()` reads now (and `want` of
   * them, when given): read again each time, so a task Swarm replaces (its node lost) is awaited
   * in its new place rather than in the old one until the timeout.
   */
  private async routed(
    balancer: string,
    expected: () => Promise<SwarmTaskView[]>,
    what: string,
    want?: number,
  ): Promise<void> {
    await this.until(
      this.ctx.routeTimeoutMs,
      `Traefik listing ${what} (${balancer})`,
      RoutingError,
      async () => {
        const tasks = await expected();
        if (want !== undefined && tasks.length !== want)
          return { kind: "wait", why: `${tasks.length} of ${want} task(s) running` };
        // Traefik restarting: nothing is decided on what it may or may not route.
        const listed = await this.ctx.routing.servers(balancer, never).then(
          (servers) => ({ servers }),
          (err: Error) => ({ unknown: err.message }),
        );
        if ("unknown" in listed)
          return {
            kind: "wait",
            why: `Traefik's API does not answer, what it routes is unknown (${listed.unknown})`,
          };
        return routingVerdict(tasks, listed.servers);
      },
    );
  }

  /** `times` requests in a row through Traefik's probe router answered by the server behind it. */
  private async proven(token: string, times: number, what: string): Promise<void> {
    let streak = 0;
    await this.until(this.ctx.routeTimeoutMs, `${what} answering through Traefik`, RoutingError, async () => {
      const p = await this.ctx.routing.probe(token, never);
      streak = p.ok ? streak + 1 : 0;
      return streak >= times ? { kind: "ok" } : { kind: "wait", why: p.detail };
    });
  }

  private async until(
    ms: number,
    what: string,
    Err: new (m: string, h?: string) => Error,
    check: () => Promise<Verdict>,
  ): Promise<void> {
    const deadline = this.ctx.clock.now() + ms;
    for (let last = ""; ; ) {
      if (this.interruptible && this.ctx.signal?.aborted) throw this.ctx.signal.reason;
      const v = await check();
      if (v.kind === "ok") return;
      if (v.kind === "fail")
        throw new Err(`${what}: ${v.why}`, "read the task's logs: `docker service ps --no-trunc`");
      last = v.why;
      if (this.ctx.clock.now() >= deadline) throw new Err(`${what}: not within ${ms / 1000} s (${last})`);
      await this.ctx.clock.sleep(250, never);
    }
  }
}
