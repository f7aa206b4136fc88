// The Router port over Traefik's file provider: compose-roll owns one dynamic YAML file,
// writes it atomically, and believes a change only once Traefik's API shows it.
//
// Reload latency, measured against Traefik 3.7.15 (file provider watching a directory,
// default providersThrottleDuration 2 s, API polled every 100 ms; host binary and container):
//   - a write after a quiet period: in the API after 6-126 ms (the throttle forwards the
//     first change at once; the spread is our 100 ms poll);
//   - a write within 2 s of the previous apply: 1.95-2.16 s (the throttle sleeps 2 s after
//     forwarding anything, and keeps only the latest config meanwhile);
//   - verify() after a quiet period ~120 ms, right after another write ~2.1 s; a
//     setServers() right after verify() ~1.95 s (the probe removal used the window).
// So budget ~2 s per write in timeouts, and poll, never sleep; and spend as few writes as
// possible after a container turns healthy: prepare() writes the probe route while it
// boots, and setServers() removes the probe in the same write that adds the server (and
// swaps an old one out). Measured on the demo (issue 12): ~5 s → ~1 s per replica. Any fs event in the watched
// directory counts as a change for the throttle, hence temp files in a subdirectory (see
// tempDirOf). With --providers.providersThrottleDuration=100ms every step took 0.1-0.3 s.
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { AbortedError, ComposeRollError, RefusedError, RoutingError } from "../controller/errors.js";
import type { Clock, Router } from "../controller/ports.js";
import type { HostFiles, HostHttp } from "../host/hostio.js";
import { aborted, realClock, TraefikApi } from "./api.js";
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
} from "./file.js";
import { type ProbeTarget, type ProbeVerdict, sendProbe } from "./probe.js";
import { localFiles } from "./write.js";

export interface ProbeOptions extends ProbeTarget {
  /**
   * Entrypoints the probe router joins. Default: those of the routers that send to the
   * service and match the URL's scheme (https ↔ routers with tls).
   */
  entryPoints?: string[];
  /** Cap on one probe request. Default 2000. */
  requestTimeoutMs?: number;
}

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

const POLL_MS = 100;
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
    const listed = listServers(await this.text(), service, file) ?? [];
    if (listed.length > 0 && (await this.api.service(service, signal)) === undefined) {
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
    opts: { create?: boolean } = {},
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
    const after = setServers(base, service, urls, file, opts.create);
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
      await this.probeUntil(url, token, deadline, timeoutMs, signal);
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
    const entryPoints = probe.entryPoints ?? (await this.entryPointsFor(tls, deadline, signal));
    const token = randomBytes(16).toString("hex");
    await this.write(addProbe(await this.text(), { service, token, url, entryPoints, tls }, file));
    this.prepared = { url, token };
    return token;
  }

  /** Sends probes every 100 ms until one is proven or the deadline passes. */
  private async probeUntil(
    url: string,
    token: string,
    deadline: number,
    timeoutMs: number,
    signal: AbortSignal,
  ) {
    const { probe } = this.opts;
    let last: ProbeVerdict = { ok: false, answered: false, detail: "no probe sent" };
    for (;;) {
      const left = this.left(deadline);
      if (left <= 0) {
        throw new RoutingError(
          `Traefik did not route a probe to ${url} within ${timeoutMs} ms: ${last.ok ? "" : last.detail}`,
          `check that ${url} is reachable from Traefik's network and that ${probe.url} is an entrypoint of ${this.opts.service}'s routers`,
        );
      }
      const verdict = await sendProbe(
        probe,
        token,
        Math.min(probe.requestTimeoutMs ?? 2000, left),
        signal,
        this.opts.http,
      );
      if (signal.aborted) throw aborted();
      if (verdict.ok) return;
      // Near the deadline a probe gets only what time is left and may time out for that
      // alone; Traefik's last real answer (a 502, say) is the better reason to report.
      if (verdict.answered || !last.answered) last = verdict;
      await this.clock.sleep(Math.min(POLL_MS, Math.max(0, this.left(deadline))), signal);
    }
  }

  /**
   * The entrypoints real traffic to the service uses, on the side (TLS or not) the probe
   * URL speaks. None found (no router yet, or a scheme mismatch): Traefik's default
   * entrypoints, and the probe's answer will say if that was wrong.
   */
  private async entryPointsFor(
    tls: boolean,
    deadline: number,
    signal: AbortSignal,
  ): Promise<string[] | undefined> {
    // Retried until the deadline like every other API read: an API that blips (Traefik
    // restarting) must not fail the step while it would answer a second later.
    for (;;) {
      try {
        const routers = await this.api.routersFor(this.opts.service, signal);
        const eps = new Set(routers.filter((r) => r.tls === tls).flatMap((r) => r.entryPoints));
        return eps.size > 0 ? [...eps].sort() : undefined;
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        if (this.left(deadline) <= 0)
          throw new RoutingError(`could not list Traefik's routers: ${(err as Error).message}`);
      }
      await this.clock.sleep(Math.min(POLL_MS, this.left(deadline)), signal);
    }
  }

  private left(deadline: number): number {
    return Math.max(0, deadline - this.clock.now());
  }
}
