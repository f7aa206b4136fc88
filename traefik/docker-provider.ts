// The Router port over Traefik's Docker provider (label mode). Nothing is written: Traefik
// adds a container by itself once Docker calls it healthy, and drops it only when it turns
// unhealthy or dies. So this adapter
//   - servers(): what Traefik's API lists for the @docker service, minus containers that
//     joined by themselves but were not yet proven by verify() (so decide() still routes,
//     i.e. proves, every new container before an old one goes);
//   - verify(): waits until the API lists the URL, then sends a live request to exactly that
//     URL (see README, "Label mode": Traefik cannot be asked to send to one server only);
//   - setServers(): cannot add (Traefik does that); takes a server out by launching the drain
//     of its container (drain file or drain command); leaving() then waits until Docker
//     reports it unhealthy AND the API no longer lists it. Only then may the controller's
//     drain wait and stop run.
import type Docker from "dockerode";
import { AbortedError, RefusedError, RoutingError } from "../controller/errors.js";
import type { Replica } from "../controller/model.js";
import { pollUntil } from "../controller/poll.js";
import type { Clock, Router } from "../controller/ports.js";
import { hostNow } from "../engine/docker.js";
import { healthOf } from "../engine/exec.js";
import { type HostHttp, localHttp } from "../host/hostio.js";
import { POLL, realClock, refusal, type TraefikApi } from "./api.js";
import { checkedSince, startDrain } from "./drain-container.js";
import { type DrainMethod, describeDrain } from "./labels.js";
import { directRequest } from "./probe.js";

export interface LabelRouterOptions {
  api: TraefikApi;
  /** The service as Traefik's API names it, e.g. web-demo@docker. */
  service: string;
  docker: Docker;
  /** The service's containers with the URLs Traefik uses (the engine adapter's replicas()). */
  replicas: () => Promise<Replica[]>;
  drain: DrainMethod;
  /** Path of the live request sent to a new container. */
  probePath: string;
  /** Cap on one live request. Default 2000. */
  requestTimeoutMs?: number;
  clock?: Clock;
  /** Where the live request is sent from: the runner (default) or the Docker host (ssh). */
  http?: HostHttp;
}

export class LabelRouter implements Omit<Router, "describe"> {
  readonly mode = "labels" as const;
  private readonly clock: Clock;
  /** Servers compose-roll accepts as routed: those serving when it started, and proven ones. */
  private trusted: Set<string> | undefined;
  /** The routers that sent to the service when it was first read (preflight's check). */
  private routers: string[] | undefined;
  /** Servers whose drain setServers() began: their stop must wait until Traefik dropped them. */
  private readonly pending = new Set<string>();
  /** Drains setServers() launched (the exec in flight); pending once it succeeded. */
  private readonly starting = new Map<string, Promise<void>>();
  /** Servers leaving() saw out of Traefik: their stop needs no further wait. */
  private readonly out = new Set<string>();

  constructor(readonly opts: LabelRouterOptions) {
    this.clock = opts.clock ?? realClock;
  }

  get service(): string {
    return this.opts.service;
  }

  /** Refuses when the API does not answer, has no such @docker service, or no router sends to it. */
  async preflight(signal?: AbortSignal): Promise<void> {
    await this.opts.api.ping(signal);
    await this.trust(signal).catch(refusal);
    // Its containers are listed, yet users get 404: most often a router name (the labels'
    // traefik.http.routers.<name>) that another project's containers define too, which makes
    // Traefik drop the router for both. No rollout can be proven through it.
    if (this.routers?.length === 0) {
      throw new RefusedError(
        `Traefik lists ${this.opts.service} but no router sends to it: requests for it get 404 now`,
        "check Traefik's log for \"defined multiple times\" (a router name another project's labels use too: rename it, or constrain the Docker provider to this project, see docs/routing-modes.md) and that the labels give the router a rule",
      );
    }
  }

  /** What Traefik's API lists for the service right now (empty when it has no such service). */
  async listed(signal?: AbortSignal): Promise<string[]> {
    const got = await this.opts.api.service(this.opts.service, signal).catch((err: Error) => {
      if (err instanceof AbortedError) throw err;
      throw new RoutingError(`could not read ${this.opts.service} from Traefik's API: ${err.message}`);
    });
    return got ?? [];
  }

  private async trust(signal?: AbortSignal): Promise<Set<string>> {
    if (!this.trusted) {
      const got = await this.opts.api.serviceView(this.opts.service, signal);
      if (got === undefined) {
        throw new RefusedError(
          `Traefik's API has no service ${this.opts.service}`,
          "check that Traefik runs with --providers.docker and the Docker socket, that the containers are healthy, and that the name is right (--traefik-service)",
        );
      }
      this.trusted = new Set(got.servers);
      this.routers = got.usedBy;
    }
    return this.trusted;
  }

  async servers(): Promise<string[]> {
    const trusted = await this.trust();
    return (await this.listed()).filter((u) => trusted.has(u));
  }

  async verify(url: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    await this.until(
      deadline,
      signal,
      async () => (await this.listed(signal)).includes(url),
      () =>
        new RoutingError(
          `Traefik's API did not list ${url} in ${this.opts.service} within ${timeoutMs} ms`,
          "check the traefik.docker.network and loadbalancer.server.port labels (or --network/--port): Traefik must use the address compose-roll computes",
        ),
    );
    let last = "no request sent";
    await this.until(
      deadline,
      signal,
      async () => {
        const ms = Math.min(this.opts.requestTimeoutMs ?? 2000, this.left(deadline));
        const verdict = await directRequest(
          this.opts.http ?? localHttp,
          this.opts.probePath,
          url,
          ms,
          signal,
        );
        if (verdict === true) return true;
        last = verdict;
        return false;
      },
      () =>
        new RoutingError(
          `${url} did not answer a live request within ${timeoutMs} ms (${last})`,
          "the Docker host must route to the containers' network (compose-roll reaches it from there over ssh, from this machine otherwise); check the port",
        ),
    );
    (await this.trust(signal)).add(url);
  }

  /**
   * Adding is Traefik's own doing: this only waits until the API lists `urls`. Removing starts
   * the drain (drain file or command) and returns: the container keeps serving until Traefik
   * drops it, so capacity holds while the next replica boots, and the engine's stop (see
   * drainBeforeStop) waits until it is unhealthy AND out of the API, then the drain period.
   */
  async setServers(urls: string[], timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    const trusted = await this.trust(signal);
    const removed = [...trusted].filter((u) => !urls.includes(u));
    const listed = await this.listed(signal);
    let begun = false;
    for (const url of removed.filter((u) => listed.includes(u))) {
      const r = (await this.opts.replicas()).find((x) => x.url === url && x.running);
      if (!r || this.opts.drain.kind === "unsafe") continue;
      // The exec runs while the next replica is created (it takes longer on a loaded host);
      // leaving() waits for it. If it fails the container, untouched, serves and counts as
      // routed again, so the drain task's failure restores at full capacity.
      const started = startDrain(this.opts.docker, r, this.opts.drain, this.left(deadline)).then(
        () => void this.pending.add(url),
        (err: unknown) => {
          this.trusted?.add(url);
          throw err;
        },
      );
      started.catch(() => {}); // awaited (and reported) by leaving() or drainBeforeStop()
      this.starting.set(url, started);
      begun = true;
    }
    this.trusted = new Set(urls);
    // A begun drain cannot be taken back (the container will turn unhealthy): finish the step
    // even on a signal, so the controller hands it to its drains rather than a restore
    // finding an unhealthy container of the image it restores and calling that a failure.
    const wait = begun ? new AbortController().signal : signal;
    await this.until(
      deadline,
      wait,
      async () => {
        const now = await this.listed(wait);
        return urls.every((u) => now.includes(u));
      },
      () =>
        new RoutingError(
          `Traefik's API did not list [${urls.join(", ")}] for ${this.opts.service} within ${timeoutMs} ms`,
          "check Traefik's log and that the containers are healthy",
        ),
    );
  }

  /**
   * Before any stop: a running container Traefik lists, or may list any moment (healthy but
   * not yet picked up: the provider adds it on the health_status event), is drained first and
   * waited for until Docker calls it unhealthy AND the API no longer lists it. One still
   * `starting` can never turn healthy once drained, so it may go at once. True when it was
   * (or may have been) in Traefik: the caller then owes it the drain wait.
   */
  async drainBeforeStop(r: Replica, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (!r.url || !r.running || this.opts.drain.kind === "unsafe") return false;
    const url = r.url;
    // leaving() saw it out of Traefik, and its caller waited the drain from then: with the
    // drain file in place it cannot turn healthy (and be added) again.
    if (this.out.delete(url)) return false;
    // Launched by setServers() and not yet awaited: let it finish (a failure retries below).
    const started = this.starting.get(url);
    this.starting.delete(url);
    await started?.catch(() => {});
    // Begun by setServers(): not again (a drain command need not be idempotent).
    const begun = this.pending.delete(url);
    let wasListed = begun || (await this.listed(signal)).includes(url);
    try {
      if (!begun) await startDrain(this.opts.docker, r, this.opts.drain, timeoutMs);
    } catch (err) {
      // It exited meanwhile: Traefik drops it on `die`, nothing left to drain.
      if ((await healthOf(this.opts.docker, r.id)) === "exited") return false;
      throw err;
    }
    let health = await healthOf(this.opts.docker, r.id);
    if (!wasListed && (health === "starting" || health === "unhealthy")) {
      // A healthcheck already running when the drain began can still pass: the container
      // turns healthy, Traefik adds it, and a stop now would cut the requests it was just
      // given (a restore stopping a booting replica). Decide on a check that began after the
      // drain, which fails.
      const since = await hostNow(this.opts.docker);
      await checkedSince(this.opts.docker, this.clock, r.id, since, timeoutMs, signal);
      health = await healthOf(this.opts.docker, r.id);
      wasListed = (await this.listed(signal)).includes(url);
    }
    // Not in Traefik and not healthy: the provider will not add it, and with the drain file
    // in place it cannot turn healthy again.
    if (!wasListed && health !== "healthy" && health !== "none") return false;
    this.trusted?.delete(url);
    await this.waitOut(r, timeoutMs, signal);
    return true;
  }

  /**
   * Resolves once Traefik no longer sends to `url`, a server setServers() began to drain:
   * Docker calls the container unhealthy AND the API no longer lists it. The controller's
   * drain period counts from here — before it, Traefik still sends new requests — and the
   * stop that follows (drainBeforeStop) owes it no second wait.
   */
  async leaving(url: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const started = this.starting.get(url);
    this.starting.delete(url);
    await started;
    if (!this.pending.has(url)) return;
    const r = (await this.opts.replicas()).find((x) => x.url === url && x.running);
    // Exited meanwhile: Traefik drops it on `die`; drainBeforeStop lets it go.
    if (!r) return;
    await this.waitOut(r, timeoutMs, signal);
    this.pending.delete(url);
    this.out.add(url);
  }

  /** Waits until Docker calls `r` unhealthy and Traefik's API no longer lists it. */
  private async waitOut(r: Replica, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const url = r.url as string;
    const deadline = this.clock.now() + timeoutMs;
    await this.until(
      deadline,
      signal,
      async () => {
        const h = await healthOf(this.opts.docker, r.id);
        return h !== "healthy" && h !== "none" && !(await this.listed(signal)).includes(url);
      },
      () =>
        new RoutingError(
          `${r.name} was still healthy or in Traefik ${timeoutMs} ms after ${describeDrain(this.opts.drain)}`,
          `check that its healthcheck fails while draining: \`docker inspect --format '{{json .State.Health}}' ${r.name}\``,
        ),
    );
  }

  /** Traefik's view for `status`: each listed server and the status Traefik gives it. */
  async view(signal?: AbortSignal): Promise<{ servers: string[]; status: Record<string, string> }> {
    const body = (await this.opts.api
      .raw(`/api/http/services/${encodeURIComponent(this.opts.service)}`, signal)
      .catch(() => undefined)) as { serverStatus?: Record<string, string> } | undefined;
    if (!body) return { servers: [], status: {} };
    return { servers: await this.listed(signal), status: body.serverStatus ?? {} };
  }

  /** Polls `check` until it holds; throws `timeout()` once the deadline has passed. */
  private async until(
    deadline: number,
    signal: AbortSignal,
    check: () => Promise<boolean>,
    timeout: () => Error,
  ): Promise<void> {
    const held = await pollUntil(
      deadline,
      this.clock,
      signal,
      async () => ((await check()) ? true : undefined),
      POLL,
    );
    if (!held) throw timeout();
  }

  private left(deadline: number): number {
    return Math.max(0, deadline - this.clock.now());
  }
}
