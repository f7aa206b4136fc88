// `compose-roll <service>` with no --image: rolls to what the compose files say (image,
// configuration, replica count), says so in one line when nothing differs, and refuses in
// label mode a change of Traefik labels that would split Traefik's service.
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { FakeWorld } from "../controller/fakes.test-support.js";
import type { ImageInfo } from "../controller/model.js";
import type { ComposeProject, Routing } from "../controller/ports.js";
import { alreadyThere, checkTraefikLabels, targetCount } from "./change.js";
import { MemoryState, testContext } from "./fakes.test-support.js";
import { rollRelease } from "./roll.js";

const img = (tag: string): ImageInfo => ({ ref: `app:${tag}`, id: `sha256:${tag}`, exposedPorts: [8000] });
const [v1, v2] = [img("v1"), img("v2")];

/**
 * Compose files naming `image`, hashing the service `hash` whatever the ref (a change of
 * configuration: the running containers carry another), creating through `world`.
 */
function files(
  world: FakeWorld,
  o: { image: string; hash: string; replicas?: number; labels?: Record<string, string> },
) {
  const created: string[] = [];
  const compose: ComposeProject = {
    files: ["/srv/shop/compose.yaml"],
    image: () => o.image,
    labels: () => o.labels ?? {},
    replicas: () => o.replicas,
    hash: async () => o.hash,
    planWriteBack: () => ({ writes: [], summary: `image: ${o.image}`, warnings: [] }),
    rewrite: async () => ({ writes: [], summary: `image: ${o.image}`, warnings: [] }),
    create: async (_s, _n, c = {}) => {
      created.push(c.ref ?? o.image);
      world.composeConfig = o.hash;
      const image = world.images.find((i) => i.ref === (c.ref ?? o.image)) as ImageInfo;
      return [await world.createWithCompose(image)];
    },
  };
  return { compose, created };
}

const hashes = (world: FakeWorld) => [...world.replicasById.values()].map((r) => r.configHash);

describe("rollRelease without --image", () => {
  it("rolls to the image the files name, compose creating each new container (the config hash changed too)", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1, "old");
    const f = files(world, { image: "app:v2", hash: "new" });
    const ctx = testContext(world, new MemoryState(), { compose: f.compose });
    const out = await rollRelease(ctx);
    expect(out).toMatchObject({ rolled: { result: "complete", replicas: 3, to: { ref: "app:v2" } } });
    expect(f.created).toEqual(["app:v2", "app:v2", "app:v2"]);
    expect(hashes(world)).toEqual(["new", "new", "new"]);
    expect(world.minServing).toBeGreaterThanOrEqual(3);
  });

  it("rolls an environment change on the same image", async () => {
    const world = new FakeWorld([v1]).seed(2, v1, "old");
    const f = files(world, { image: "app:v1", hash: "new-env" });
    const out = await rollRelease(testContext(world, new MemoryState(), { compose: f.compose }));
    expect(out).toMatchObject({ rolled: { result: "complete" } });
    expect(hashes(world)).toEqual(["new-env", "new-env"]);
  });

  it("says so in one line and changes nothing (no lock) when the containers already are what the files say", async () => {
    const world = new FakeWorld([v1]).seed(3, v1, "same");
    const f = files(world, { image: "app:v1", hash: "same" });
    const state = new MemoryState();
    const ctx = testContext(world, state, { compose: f.compose });
    expect(await rollRelease(ctx)).toMatchObject({ rolled: { result: "unchanged", replicas: 3 } });
    expect(ctx.said).toEqual([
      "web already runs app:v1 as the compose files describe it, 3 replicas; nothing to do",
    ]);
    expect(state.acquired).toEqual([]);
    expect(world.events).toEqual([]);
  });

  it("converges deploy.replicas, and --scale over it", async () => {
    const world = new FakeWorld([v1]).seed(3, v1, "same");
    const f = files(world, { image: "app:v1", hash: "same", replicas: 5 });
    await rollRelease(testContext(world, new MemoryState(), { compose: f.compose }));
    expect(world.serving()).toBe(5);
    await rollRelease(testContext(world, new MemoryState(), { compose: f.compose, opts: { scale: 2 } }));
    expect(world.serving()).toBe(2);
    expect(world.routed).toHaveLength(2);
  });

  it("refuses (exit 2) with no --image and no compose file to say which image", async () => {
    const world = new FakeWorld([v1]).seed(1, v1);
    const err = await rollRelease(testContext(world, new MemoryState())).catch((e) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect(err.message).toMatch(/no compose file here says which image web should run, and no --image/);
  });

  it("label mode: refuses a Traefik label change before anything changes", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1, "old");
    for (const r of world.replicasById.values())
      r.traefikLabels = { "traefik.http.services.web.loadbalancer.server.port": "8000" };
    const f = files(world, {
      image: "app:v2",
      hash: "new",
      labels: { "traefik.http.services.web.loadbalancer.server.port": "8001" },
    });
    const router = Object.assign(Object.create(world), {
      describe: (): Routing => ({ ...world.describe(), mode: "labels" }),
    });
    const state = new MemoryState();
    const ctx = testContext(world, state, {
      compose: f.compose,
      deps: { engine: world, router, clock: world, reporter: world },
    });
    const err = await rollRelease(ctx).catch((e) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect(err.message).toMatch(/loadbalancer.server.port: 8000 → 8001/);
    expect(f.created).toEqual([]);
    expect(state.acquired).toEqual([]);
  });
});

describe("change rules", () => {
  const r = (over = {}) => ({
    ...[...new FakeWorld([v1]).seed(1, v1, "h").replicasById.values()][0],
    ...over,
  });

  it("alreadyThere needs the image, the hash, the count and every one routed", () => {
    const one = r() as ReturnType<typeof r> & { url: string };
    const obs = { replicas: [one], routed: [one.url] };
    expect(alreadyThere(obs, v1, "h", 1)).toBe(true);
    expect(alreadyThere(obs, v1, "other", 1)).toBe(false);
    expect(alreadyThere(obs, v2, "h", 1)).toBe(false);
    expect(alreadyThere(obs, v1, "h", 2)).toBe(false);
    expect(alreadyThere({ ...obs, routed: [] }, v1, "h", 1)).toBe(false);
  });

  it("checkTraefikLabels passes equal labels and names an added or removed one", () => {
    const labels = { "traefik.enable": "true", "traefik.http.routers.web.rule": "Host(`a`)" };
    const one = r({ traefikLabels: labels });
    expect(() => checkTraefikLabels("web", [one], { ...labels, "com.example": "x" })).not.toThrow();
    expect(() => checkTraefikLabels("web", [one], { "traefik.enable": "true" })).toThrow(
      /traefik.http.routers.web.rule: Host\(`a`\) → \(none\)/,
    );
  });

  it("targetCount: --scale, then deploy.replicas, then as many as there are", () => {
    const world = new FakeWorld([v1]).seed(3, v1);
    const obs = { replicas: [...world.replicasById.values()], routed: [] };
    const f = files(world, { image: "app:v1", hash: "h", replicas: 4 });
    const ctx = testContext(world, new MemoryState(), { compose: f.compose });
    expect(targetCount(ctx, obs)).toEqual({ replicas: 4, source: "deploy.replicas" });
    expect(targetCount({ ...ctx, opts: { ...ctx.opts, scale: 1 } }, obs)).toEqual({
      replicas: 1,
      source: "--scale",
    });
    expect(targetCount(testContext(world, new MemoryState()), obs)).toEqual({
      replicas: 3,
      source: "running",
    });
  });
});
