// Where Traefik's access log is read from: the Traefik container's log stream through the
// Engine API (the connection compose-roll already has, so it works over ssh as it does
// locally), or a file on this machine (--access-log <path>, for accesslog.filepath).
import { open } from "node:fs/promises";
import { PassThrough, type Readable } from "node:stream";
import type Docker from "dockerode";
import type { Traffic, TrafficFeed } from "../controller/ports.js";
import { LineBuffer } from "../engine/lines.js";
import { parseLine, TrafficStore } from "./accesslog.js";

/** An access-log line is a few hundred bytes; a longer one is not one, and is dropped whole. */
export const ACCESS_LOG_LINE_CAP = 64 * 1024;

/** The one flag (two words) Traefik needs; docs/bake.md. */
export const ACCESS_LOG_FLAGS = "--accesslog=true --accesslog.format=json";

function feedOf(store: TrafficStore, close: () => void): TrafficFeed {
  return { series: (u) => store.series(u), latest: () => store.latest(), close };
}

function lineSink(store: TrafficStore): LineBuffer {
  return new LineBuffer(ACCESS_LOG_LINE_CAP, "drop", (line) => {
    const r = parseLine(line);
    if (r) store.add(r);
  });
}

/**
 * What a Traefik command line says about its access log: JSON to stdout (readable from the
 * container's log stream), to a file, or off. undefined when the flags do not say (a static
 * configuration file may still turn it on).
 */
export function accessLogOf(args: string[]): "stdout" | { file: string } | "not-json" | "off" | undefined {
  const flags = new Map<string, string>();
  for (const a of args) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (m?.[1]) flags.set(m[1].toLowerCase(), m[2] ?? "true");
  }
  const on = [...flags.keys()].some((k) => k === "accesslog" || k.startsWith("accesslog."));
  if (!on) return undefined;
  if (flags.get("accesslog") === "false") return "off";
  if ((flags.get("accesslog.format") ?? "").toLowerCase() !== "json") return "not-json";
  const file = flags.get("accesslog.filepath");
  return file ? { file } : "stdout";
}

interface Found {
  id: string;
  name: string;
  args: string[];
}

/** The Traefik container: the one named, else a running one of the project whose image says traefik. */
async function findTraefik(docker: Docker, project: string, name?: string): Promise<Found | undefined> {
  const pick = async (id: string): Promise<Found> => {
    const c = await docker.getContainer(id).inspect();
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ""),
      args: [...(c.Path ? [c.Path] : []), ...(c.Args ?? [])],
    };
  };
  if (name) return pick(name).catch(() => undefined);
  const list = await docker.listContainers({
    filters: { label: [`com.docker.compose.project=${project}`], status: ["running"] },
  });
  const t = list.find((c) => /traefik/i.test(c.Image));
  return t ? pick(t.Id) : undefined;
}

/** Reads the access log from the Traefik container's log stream. */
export class ContainerTraffic implements Traffic {
  constructor(
    private readonly docker: Docker,
    private readonly project: string,
    /** The container to read, when it is not the project's own Traefik. */
    private readonly container?: string,
  ) {}

  async unavailable(signal: AbortSignal): Promise<string | undefined> {
    const t = await findTraefik(this.docker, this.project, this.container);
    const how = `add \`${ACCESS_LOG_FLAGS}\` to Traefik's command (docs/bake.md)`;
    if (!t) {
      return this.container
        ? `--bake: no container ${this.container} to read Traefik's access log from`
        : `--bake: no running Traefik container in project ${this.project} to read its access log from; name it with --access-log container:<name>, or give the log's file with --access-log <path>`;
    }
    const says = accessLogOf(t.args);
    if (says === "stdout") return undefined;
    if (says === "off" || says === "not-json")
      return `--bake: Traefik (${t.name}) writes no JSON access log: ${how}`;
    if (says && typeof says === "object")
      return `--bake: Traefik (${t.name}) writes its access log to ${says.file} inside its container: give that file on this machine with --access-log <path>, or drop accesslog.filepath`;
    // The flags do not say (a static configuration file may): believe the log, not the flags.
    const recent = await this.read(t.id, Math.floor(Date.now() / 1000) - 300, false, signal);
    if (recent.latest() !== undefined) return undefined;
    return `--bake: no JSON access-log line from Traefik (${t.name}) in the last 5 min: ${how}`;
  }

  async follow(signal: AbortSignal): Promise<TrafficFeed> {
    const t = await findTraefik(this.docker, this.project, this.container);
    if (!t) throw new Error("the Traefik container is gone");
    return this.read(t.id, Math.floor(Date.now() / 1000), true, signal);
  }

  async recent(seconds: number, signal: AbortSignal): Promise<TrafficFeed> {
    const t = await findTraefik(this.docker, this.project, this.container);
    if (!t) throw new Error("no Traefik container");
    return this.read(t.id, Math.floor(Date.now() / 1000) - seconds, false, signal);
  }

  /** The lines since `since` (Unix seconds); following: until closed, else to the end. */
  private async read(id: string, since: number, follow: boolean, signal: AbortSignal): Promise<TrafficFeed> {
    const store = new TrafficStore();
    const sink = lineSink(store);
    const container = this.docker.getContainer(id);
    const opts = { stdout: true, stderr: true, since, timestamps: false } as const;
    const raw = (follow
      ? await container.logs({ ...opts, follow: true })
      : await container.logs({ ...opts, follow: false })) as unknown as Readable | Buffer;
    const close = () => {
      if (!Buffer.isBuffer(raw)) raw.destroy();
    };
    signal.addEventListener("abort", close, { once: true });
    if (Buffer.isBuffer(raw)) {
      sink.push(demuxed(raw));
      sink.end();
      return feedOf(store, close);
    }
    const out = new PassThrough();
    out.on("data", (chunk: Buffer) => sink.push(chunk.toString("utf8")));
    this.docker.modem.demuxStream(raw, out, out);
    raw.on("error", () => {});
    return feedOf(store, close);
  }
}

/** A non-following read comes back whole, in Docker's 8-byte-header frames (no TTY). */
function demuxed(buf: Buffer): string {
  let text = "";
  let at = 0;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32BE(at + 4);
    text += buf.subarray(at + 8, at + 8 + size).toString("utf8");
    at += 8 + size;
  }
  return text;
}

/** Reads the access log from a file on this machine, from its end on. */
export class FileTraffic implements Traffic {
  constructor(
    private readonly path: string,
    private readonly pollMs = 250,
  ) {}

  async unavailable(): Promise<string | undefined> {
    const fh = await open(this.path, "r").catch((err: Error) => err);
    if (fh instanceof Error) return `--bake: cannot read Traefik's access log ${this.path}: ${fh.message}`;
    await fh.close();
    return undefined;
  }

  async follow(signal: AbortSignal): Promise<TrafficFeed> {
    const store = new TrafficStore();
    const sink = lineSink(store);
    const fh = await open(this.path, "r");
    let at = (await fh.stat()).size;
    let stopped = false;
    const buf = Buffer.alloc(256 * 1024);
    const tick = async () => {
      while (!stopped) {
        const size = (await fh.stat()).size;
        if (size < at) at = 0; // rotated or truncated: start over
        while (at < size) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
          if (bytesRead === 0) break;
          sink.push(buf.subarray(0, bytesRead).toString("utf8"));
          at += bytesRead;
        }
        await new Promise((r) => setTimeout(r, this.pollMs));
      }
      await fh.close();
    };
    tick().catch(() => {});
    const close = () => {
      stopped = true;
    };
    signal.addEventListener("abort", close, { once: true });
    return feedOf(store, close);
  }
}
