// The Router port over Traefik's file provider: compose-roll owns one dynamic YAML file,
// writes it atomically, and believes a change only once Traefik's API shows it.
//
// Traefik's providers throttle passes a change on at once after a quiet period, then holds
// later ones for its throttle duration (2 s by default), keeping only the latest. So
// timeouts budget one throttle window per write, the API is polled rather than slept on,
// and as few writes as possible follow a container turning healthy: prepare() writes the
// probe route while it boots, and setServers() removes the probe in the same write that
// adds the server (and swaps an old one out). Any fs event in the watched directory counts
// as a change for the throttle, hence temp files in a subdirectory (see tempDirOf).
// docs/evidence.md has the reload times measured.
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { AbortedError, ComposeRollError, RefusedError, RoutingError } from "../controller/errors.js";
import type { Clock, Router } from "../controller/ports.js";
import type { HostFiles, HostHttp } from "../host/hostio.js";
import { aborted, realClock, refusal, TraefikApi } from "./api.js";
import {
  addProbe,
  hasProbe,
  listServers,
  PROBE_HEADER,
  probeName,
  readServers,
  removeProbe,
  setServers,
  tempDirOf,
  weighServers,
} from "./file.js";
import { type ProbeOptions, probeEntryPoints, probeUntil, sendProbe } from "./probe.js";
import { localFiles } from "./write.js";

export interface TraefikRouterOptions {
  /** The dynamic file compose-roll owns, inside Traefik's providers.file.directory. */
  file: string;
  /** Service name in that file (http.services.<service>); Traefik calls it <service>@file. */
  service: string;
  /** Traefik API base URL (e.g. http://127.0.0.1:8080), or a ready client. */
  api: string | TraefikApi;
  /**
   * Where live probe requests enter Traefik: a user entrypoint (--traefik-url). Not the
   * API's own entrypoint: there the internal dashboard router (PathPrefix(`/`), priority
   * MaxInt-2) outranks every user router (capped at MaxInt-1000), so a probe would only
   * ever reach the dashboard.
   */
  probe: ProbeOptions;
  clock?: Clock;
  /** Where the file is: the runner's filesystem (default) or the Docker host's (ssh). */
  files?: HostFiles;
  /** Where the API and entrypoint are reached from: the runner (default) or the Docker host. */
  http?: HostHttp;
}

/** How long prepare() may spend finding the entrypoints; verify() retries with its own deadline. */
const PREPARE_MS = 5_000;

/**
 * The preflight's Host header: not a valid host, so Traefik's HTTP server (Go net/http)
 * answers 400 itself, before any router. A routed request would reach the user's servers,
 * and while the file still lists dead ones (containers recreated behind our back) it hangs
 * on their addresses: the entrypoint would look unreachable when only a backend is.
 */
const PREFLIGHT_HOST = "compose-roll preflight";

export class TraefikRouter implements Omit<Router, "describe"> {
  readonly api: TraefikApi;
  /** The file compose-roll owns. */
  readonly file: string;
  private readonly clock: Clock;
  private readonly files: HostFiles;
  /** The probe route prepare() or verify() last wrote. */
  private prepared: { url: string; token: string } | undefined;
  /** The last write gave servers weights (a canary): the next one takes them off. */
  private weighted = false;
  /** Traefik's file provider weighs servers (weighted round robin), so a canary can get a share. */
  readonly weighs = true;

  constructor(private readonly opts: TraefikRouterOptions) {
    this.file = opts.file;
    this.clock = opts.clock ?? realClock;
    this.files = opts.files ?? localFiles;
    this.api =
      typeof opts.api === "string"
        ? new TraefikApi({ url: opts.api, clock: this.clock, ...(opts.http ? { http: opts.http } : {}) })
        : opts.api;
  }

  /** The file's text (undefined when absent), wherever it lives. */
  text(): Promise<string | undefined> {
    return this.files.read(this.file).catch((err: Error) => {
      throw new RoutingError(
        `could not read ${this.file}${this.files.where}: ${err.message}`,
        `check that ${dirname(this.file)} exists and is readable`,
      );
    });
  }

  private async write(text: string): Promise<void> {
    await this.files.writeAtomic(this.file, text, tempDirOf(this.file)).catch((err: Error) => {
      if (err instanceof ComposeRollError) throw err;
      throw new RoutingError(
        `could not write ${this.file}${this.files.where}: ${err.message}`,
        `check that ${dirname(this.file)} is writable`,
      );
    });
  }

  /** The Traefik service name in the file (http.services.<service>). */
  get service(): string {
    return this.opts.service;
  }

  /** Refuses (one line, with the fix) when Traefik's API, the file or the entrypoint is not usable. */
  async preflight(signal?: AbortSignal): Promise<void> {
    const { file } = this;
    const { service } = this.opts;
    await this.api.ping(signal);
    const dir = dirname(file);
    const where = this.files.where;
    if (!(await this.files.isDirectory(dir))) {
      throw new RefusedError(
        `the directory of the Traefik file does not exist${where}: ${dir}`,
        `create ${dir} and point Traefik's providers.file.directory at it`,
      );
    }
    // Creating it now spends its one watcher event (and throttle window) before the rollout;
    // the test write catches a read-only mount or a full disk.
    await this.files.mkdir(tempDirOf(file)).catch((err: Error) => {
      throw new RefusedError(
        `cannot write in ${dir}${where}: ${err.message}`,
        `make ${dir} writable for this user`,
      );
    });
    await this.files.checkWritable(file, tempDirOf(file)).catch((err: Error) => {
      throw new RefusedError(
        `cannot write in ${dir}${where}: ${err.message}`,
        `make ${dir} writable for this user, with room for the file`,
      );
    });
    // A file without the service is not refused here: sync creates it, and a rollout
    // refuses it when it observes (readServers).
    const text = await this.text().catch(refusal);
    const listed = listServers(text, service, file) ?? [];
    if (listed.length > 0 && (await this.api.service(service, signal).catch(refusal)) === undefined) {
      throw new RefusedError(
        `${file} defines ${service} but Traefik's API has no ${service}@file`,
        `start Traefik with --providers.file.directory=${dir} (the directory, not the file)`,
      );
    }
    // Any HTTP answer will do (Traefik's own 400 for PREFLIGHT_HOST); a connection that was
    // accepted but not answered in time still proves something listens there.
    const timeout = this.opts.probe.requestTimeoutMs ?? 2000;
    const ping = await sendProbe(
      { ...this.opts.probe, host: PREFLIGHT_HOST },
      "preflight",
      timeout,
      signal ?? new AbortController().signal,
      this.opts.http,
    );
    if (!ping.ok && !ping.answered && !ping.connected) {
      throw new RefusedError(
        `Traefik entrypoint not reachable at ${this.opts.probe.url}: ${ping.detail}`,
        "pass the base URL of the entrypoint your service's routers use as --traefik-url",
      );
    }
  }

  /** The servers listed; refuses a file that does not define the service (see readServers). */
  async servers(): Promise<string[]> {
    return readServers(await this.text(), this.opts.service, this.file);
  }

  /** The servers listed, or undefined when the file does not define the service (yet). */
  async listed(): Promise<string[] | undefined> {
    return listServers(await this.text(), this.opts.service, this.file);
  }

  /** `create`: add the service to a file that lacks it (sync), instead of refusing. */
  async setServers(
    urls: string[],
    timeoutMs: number,
    signal: AbortSignal,
    opts: { create?: boolean; weights?: Record<string, number> } = {},
  ): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    if (signal.aborted) throw aborted();
    const { file } = this;
    const { service } = this.opts;
    const before = await this.text();
    // The probe verify() proved the server with goes in the same write (one reload, not two),
    // and so does one left behind by a killed run (it only matches a random header, but the
    // file should hold nothing compose-roll is not using).
    const base = hasProbe(before, service) ? removeProbe(before, service, file) : before;
    let after = setServers(base, service, urls, file, opts.create);
    // Weights this process set (a canary) go with the next write; a user's own are kept.
    if (opts.weights || this.weighted) after = weighServers(after, service, opts.weights, file);
    this.weighted = opts.weights !== undefined;
    this.prepared = undefined;
    if (after !== before) await this.write(after);
    await this.api.waitForServers(service, urls, this.left(deadline), signal);
  }

  /**
   * Writes the probe route for `url` ahead of verify() (while the container boots): Traefik's
   * reload then happens during the boot. The probe matches only a random header, so it sends
   * nothing to the container until verify() probes.
   */
  async prepare(url: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw aborted();
    // Only a head start: when it fails (the API blips, the write fails), verify() writes the
    // probe itself under the step's own deadline, and reports what still fails then.
    await this.writeProbe(url, this.clock.now() + PREPARE_MS, signal).catch((err: unknown) => {
      if (err instanceof AbortedError) throw err;
      this.prepared = undefined;
    });
  }

  /** Removes a probe route prepare() wrote for a container that never got routed. */
  async clear(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw aborted();
    this.prepared = undefined;
    const text = await this.text();
    if (hasProbe(text, this.opts.service)) await this.write(removeProbe(text, this.opts.service, this.file));
  }

  /**
   * Proves a live request through Traefik reaches `url` before any user traffic can: a probe
   * router matching only a random header sends to a probe service holding only `url` (the
   * one prepare() wrote, else a new one). On success the probe stays for the next
   * setServers(), which removes it in the same write as the server change (one reload, not
   * two); on failure it is removed at once, whatever happened (even on abort).
   */
  async verify(url: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    if (signal.aborted) throw aborted();
    const { file } = this;
    const { service } = this.opts;
    const name = probeName(service);
    let failure: unknown;
    try {
      const ready = this.prepared?.url === url && hasProbe(await this.text(), service);
      const token =
        ready && this.prepared ? this.prepared.token : await this.writeProbe(url, deadline, signal);
      const rule = `Header(\`${PROBE_HEADER}\`, \`${token}\`)`;
      await this.api.waitForRouter(name, rule, this.left(deadline), signal);
      await this.api.waitForServers(name, [url], this.left(deadline), signal);
      const { probe, http } = this.opts;
      await probeUntil({
        probe,
        token,
        server: url,
        service,
        deadline,
        timeoutMs,
        clock: this.clock,
        signal,
        http,
      });
      return;
    } catch (err) {
      failure = err;
    }
    this.prepared = undefined;
    try {
      await this.write(removeProbe(await this.text(), service, file));
    } catch (err) {
      const msg = `could not remove probe ${name} from ${file}: ${(err as Error).message}`;
      (failure as Error).message += ` (and ${msg})`;
    }
    throw failure;
  }

  /** Adds (or replaces) the probe route for `url`; returns its token. */
  private async writeProbe(url: string, deadline: number, signal: AbortSignal): Promise<string> {
    const { file } = this;
    const { service, probe } = this.opts;
    const tls = new URL(probe.url).protocol === "https:";
    const entryPoints =
      probe.entryPoints ?? (await probeEntryPoints(this.api, service, tls, deadline, this.clock, signal));
    const token = randomBytes(16).toString("hex");
    await this.write(addProbe(await this.text(), { service, token, url, entryPoints, tls }, file));
    this.prepared = { url, token };
    return token;
  }

  private left(deadline: number): number {
    return Math.max(0, deadline - this.clock.now());
  }
}
