// DockerEngine against the real engine (Debian's Docker 20.10, API 1.41 here). A real compose
// project is brought up so the template is captured from a container compose itself created.
// Every project name is unique per run; afterAll removes everything carrying it.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortedError, EngineError, HealthError } from "../../controller/errors.js";
import type { ImageInfo, Replica } from "../../controller/model.js";
import type { ReplicaTemplate } from "../../controller/ports.js";
import { DockerEngine } from "../../engine/index.js";
import type { ContainerInspect, DockerReplicaTemplate } from "../../engine/types.js";

const run = promisify(execFile);
const APP = "compose-roll-demo/app";
const BASE = "compose-roll/python-base:bookworm";
const P = `cre2e${randomBytes(3).toString("hex")}`;
const dir = mkdtempSync(join(tmpdir(), `${P}-`));
const compose = (...args: string[]) =>
  run("docker", ["compose", "-p", P, "-f", join(dir, "compose.yaml"), ...args]);

// stop_grace_period 7s, an env override, a healthcheck override (start_period only, so the
// image's test command must survive), labels, and two networks with a configured alias.
const COMPOSE = `
services:
  web:
    image: ${APP}:v1
    environment:
      BOOT_DELAY: "0"
      GREETING: hello
    labels:
      org.example.team: platform
    healthcheck:
      start_period: 2s
    stop_grace_period: 7s
    networks:
      front:
        aliases: [webapp]
      back: {}
networks:
  front: {}
  back: {}
`;

let engine: DockerEngine;
let template: ReplicaTemplate;
const images: Record<string, ImageInfo> = {};
const inspect = (id: string) =>
  engine.docker.getContainer(id).inspect() as unknown as Promise<ContainerInspect>;
const never = new AbortController().signal;
let nextNumber = 2;
const clone = (tag: string) => engine.start(template, images[tag] as ImageInfo, nextNumber++);

interface DockerEvent {
  Action: string;
  timeNano: number;
  Actor: { Attributes: Record<string, string> };
}

/** What Docker recorded for a container since `since` (seconds), with the daemon's own times. */
async function containerEvents(id: string, since: number): Promise<DockerEvent[]> {
  const until = Math.ceil(Date.now() / 1000);
  const stream = (await engine.docker.getEvents({
    since,
    until,
    filters: { container: [id] },
  })) as NodeJS.ReadableStream;
  let text = "";
  for await (const chunk of stream) text += String(chunk);
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as DockerEvent);
}

beforeAll(async () => {
  const { stdout } = await run("docker", ["images", "-q", `${APP}:v1`]);
  if (!stdout.trim()) throw new Error(`${APP}:v1 is missing: run images/build first`);
  writeFileSync(join(dir, "compose.yaml"), COMPOSE);
  await compose("up", "-d", "--wait");
  engine = await DockerEngine.connect({ network: `${P}_front` });
  for (const tag of ["v1", "v2", "broken", "crash"]) {
    const info = await engine.image(`${APP}:${tag}`);
    if (!info) throw new Error(`${APP}:${tag} is missing: run images/build first`);
    images[tag] = info;
  }
  const [web1] = await engine.replicas({ project: P, service: "web" });
  if (!web1) throw new Error("compose did not create web-1");
  template = await engine.template(web1.id);
});

afterAll(async () => {
  const { stdout } = await run("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${P}`]);
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length) await run("docker", ["rm", "-f", ...ids]);
  await compose("down", "-v", "--remove-orphans").catch(() => {});
  await run("docker", ["volume", "rm", `${P}-data`]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe("DockerEngine against a real engine", () => {
  it("negotiates the API version instead of pinning one", async () => {
    const { stdout } = await run("docker", ["version", "--format", "{{.Server.APIVersion}}"]);
    const server = stdout.trim();
    expect(engine.apiVersion).toBe(Number(server.split(".")[1]) < 47 ? server : "1.47");
  });

  it("resolves images and returns undefined for a missing one", async () => {
    expect(images.v1?.exposedPorts).toEqual([8000]);
    expect(images.v1?.id).toMatch(/^sha256:/);
    expect(await engine.image(`${APP}:no-such-tag`)).toBeUndefined();
  });

  it("clones the compose container onto a new image with the user's settings", async () => {
    const r = await clone("v2");
    expect(r).toMatchObject({ name: `${P}-web-2`, number: 2, imageId: images.v2?.id, running: true });
    expect(r.imageRef).toBe(`${APP}:v2`);
    // By short ID on a compose network: Docker's DNS keeps it right when the address
    // changes, and no later container ever has the same one.
    expect(r.url).toBe(`http://${r.id.slice(0, 12)}:8000`);
    const c = await inspect(r.id);
    const env = c.Config.Env ?? [];
    expect(env).toEqual(expect.arrayContaining(["BOOT_DELAY=0", "GREETING=hello", "RELEASE=v2"]));
    expect(env).not.toContain("RELEASE=v1");
    expect(c.Config.Healthcheck).toMatchObject({ Test: ["CMD", "python3", "/app/healthcheck.py"] });
    expect(c.Config.Healthcheck?.StartPeriod).toBe(2_000_000_000);
    expect(c.Config.StopTimeout).toBe(7);
    const labels = c.Config.Labels ?? {};
    expect(labels).toMatchObject({
      "com.docker.compose.project": P,
      "com.docker.compose.service": "web",
      "com.docker.compose.container-number": "2",
      "com.docker.compose.oneoff": "False",
      "com.docker.compose.image": images.v2?.id,
      "com.compose-roll.image-ref": `${APP}:v2`,
      "org.example.team": "platform",
      "org.opencontainers.image.version": "v2",
    });
    const nets = c.NetworkSettings.Networks ?? {};
    expect(Object.keys(nets).sort()).toEqual([`${P}_back`, `${P}_front`]);
    expect(nets[`${P}_front`]?.Aliases).toEqual(expect.arrayContaining([`${P}-web-2`, "web", "webapp"]));
    expect(nets[`${P}_back`]?.Aliases).toEqual(expect.arrayContaining([`${P}-web-2`, "web"]));
    expect(nets[`${P}_back`]?.Aliases).not.toContain(`${P}-web-1`);

    const t0 = performance.now();
    await engine.waitHealthy(r, 30_000, never);
    console.log(`waitHealthy(:v2 clone, BOOT_DELAY=0): ${Math.round(performance.now() - t0)} ms`);
    // The host has no Docker DNS: reach the clone by its address on the network Traefik uses.
    const ip = (await inspect(r.id)).NetworkSettings.Networks?.[`${P}_front`]?.IPAddress;
    const body = (await (await fetch(`http://${ip}:8000/`)).json()) as { release: string };
    expect(body.release).toBe("v2");

    // compose sees the clone as a member of the service.
    const { stdout } = await compose("ps", "--format", "json", "web");
    const listed = stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Name: string; Service: string });
    expect(listed.map((x) => x.Name)).toContain(`${P}-web-2`);

    const all = await engine.replicas({ project: P, service: "web" });
    expect(all.map((x) => x.number)).toEqual([1, 2]);
    expect(all.every((x) => x.health === "healthy" && x.url)).toBe(true);
  });

  it("waitHealthy resolves for :v1", async () => {
    const r = await clone("v1");
    const t0 = performance.now();
    await engine.waitHealthy(r, 30_000, never);
    const ms = performance.now() - t0;
    console.log(`waitHealthy(:v1 clone, BOOT_DELAY=0): ${Math.round(ms)} ms`);
    expect((await inspect(r.id)).State.Health?.Status).toBe("healthy");
  });

  it("waitHealthy rejects when the container turns unhealthy (:broken)", async () => {
    const r = await clone("broken");
    const t0 = performance.now();
    const err = await engine.waitHealthy(r, 60_000, never).catch((e: unknown) => e);
    const ms = performance.now() - t0;
    console.log(`waitHealthy(:broken) rejected after ${Math.round(ms)} ms: ${(err as Error).message}`);
    expect(err).toBeInstanceOf(HealthError);
    expect((err as Error).message).toMatch(/is unhealthy; last health check exited 1: .+/);
    // Rejected on Docker's verdict, not at the 60 s deadline.
    expect((await inspect(r.id)).State.Health?.Status).toBe("unhealthy");
  });

  it("waitHealthy rejects when the container exits (:crash), with its exit code", async () => {
    const r = await clone("crash");
    const t0 = performance.now();
    const err = await engine.waitHealthy(r, 60_000, never).catch((e: unknown) => e);
    console.log(`waitHealthy(:crash) rejected after ${Math.round(performance.now() - t0)} ms`);
    expect(err).toBeInstanceOf(HealthError);
    expect((err as Error).message).toMatch(/exited with code 3/);
  });

  it("waitHealthy times out while still starting, and aborts", async () => {
    const r = await clone("broken");
    const err = await engine.waitHealthy(r, 1_000, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HealthError);
    expect((err as Error).message).toMatch(/did not become healthy within 1s \(starting/);
    // Rejected at the deadline, not on a verdict: Docker still has it starting.
    expect((await inspect(r.id)).State.Health?.Status).toBe("starting");

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(engine.waitHealthy(r, 30_000, ac.signal)).rejects.toBeInstanceOf(AbortedError);
  });

  it("sends create options in the body: 1.6 MB of labels would get HTTP 431 in the query string", async () => {
    const t = template as DockerReplicaTemplate;
    const Labels = { ...t.container.Config.Labels };
    for (let i = 0; i < 20; i++) Labels[`org.example.big${i}`] = "x".repeat(80_000);
    // No healthcheck: Docker rewrites the container's 1.6 MB config at every probe, which took
    // half a minute on the 2-core testbed. A 1 s StopTimeout: gunicorn still booting (PID 1, no
    // handler yet) ignores SIGTERM, so the stop is the SIGKILL after it, not a 35 s grace.
    const Config = { ...t.container.Config, Labels, Healthcheck: { Test: ["NONE"] }, StopTimeout: 1 };
    const big: DockerReplicaTemplate = { ...t, container: { ...t.container, Config } };
    const r = await engine.start(big, images.v1 as ImageInfo, nextNumber++);
    expect(r.running).toBe(true);
    const seen = await engine.docker.getContainer(r.id).inspect();
    expect(Object.keys(seen.Config.Labels).filter((k) => k.startsWith("org.example.big"))).toHaveLength(20);
    await engine.stopAndRemove(r);
  });

  it("reports a taken name and an unreachable engine as EngineError with a hint", async () => {
    const err = await engine.start(template, images.v1 as ImageInfo, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).message).toMatch(
      new RegExp(`could not create container ${P}-web-1: .*already in use`),
    );
    expect((err as EngineError).hint).toMatch(/docker ps -a/);

    const dead = await DockerEngine.connect({ docker: { socketPath: join(dir, "no.sock") } }).catch(
      (e: unknown) => e,
    );
    expect(dead).toBeInstanceOf(EngineError);
    expect((dead as EngineError).message).toMatch(/could not reach the Docker engine/);
    expect((dead as EngineError).hint).toMatch(/start Docker|DOCKER_HOST/);
  });

  it("stopAndRemove waits the container's own StopTimeout, keeps named volumes, is idempotent", async () => {
    // Ignores SIGTERM, so only the SIGKILL after StopTimeout (3s, not Docker's default 10s) ends it.
    const svc = { project: P, service: "sleeper" };
    const created = await engine.docker.createContainer({
      name: `${P}-sleeper-1`,
      Image: BASE,
      Cmd: [
        "python3",
        "-c",
        "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)",
      ],
      StopTimeout: 3,
      Labels: {
        "com.docker.compose.project": P,
        "com.docker.compose.service": "sleeper",
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
      },
      HostConfig: { Binds: [`${P}-data:/data`] },
    });
    await created.start();
    const [r] = await engine.replicas(svc);
    expect(r).toMatchObject({ name: `${P}-sleeper-1`, health: "none", running: true });
    expect(r?.url).toBeUndefined();
    await engine.waitHealthy(r as Replica, 5_000, never);

    const since = Math.floor(Date.now() / 1000) - 1;
    await engine.stopAndRemove(r as Replica);
    // Docker's own record of the stop: SIGTERM, then SIGKILL once the container's StopTimeout
    // (3 s) ran out, not Docker's default 10 s; then the removal.
    const ev = await containerEvents(created.id, since);
    const kills = ev.filter((e) => e.Action === "kill");
    expect(kills.map((e) => e.Actor.Attributes.signal)).toEqual(["15", "9"]);
    const waited = (Number(kills[1]?.timeNano) - Number(kills[0]?.timeNano)) / 1e9;
    console.log(`stopAndRemove with StopTimeout=3: SIGKILL ${waited.toFixed(2)} s after SIGTERM`);
    expect(waited).toBeGreaterThanOrEqual(3);
    expect(waited).toBeLessThan(10);
    expect(ev.map((e) => e.Action).at(-1)).toBe("destroy");
    expect(await engine.replicas(svc)).toEqual([]);
    const { stdout } = await run("docker", ["volume", "ls", "-q", "--filter", `name=${P}-data`]);
    expect(stdout.trim()).toBe(`${P}-data`);
    await engine.stopAndRemove(r as Replica);
  });
});
