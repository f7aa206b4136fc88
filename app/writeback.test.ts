// Runs the real `docker compose config`, like compose/project.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { composeProject } from "../compose/adapter.js";
import { loadProject, serviceHash } from "../compose/project.js";
import type { Replica } from "../controller/model.js";
import type { RolloutEvent } from "../controller/ports.js";
import { prepareTruth } from "./writeback.js";

async function setup(compose: string, env = "") {
  const dir = join(mkdtempSync(join(tmpdir(), "cr-truth-")), "shop");
  mkdirSync(dir);
  writeFileSync(join(dir, "compose.yaml"), compose);
  if (env) writeFileSync(join(dir, ".env"), env);
  const project = await loadProject({ files: [], cwd: dir, env: process.env });
  const events: RolloutEvent[] = [];
  const said: string[] = [];
  const running = (hash: string | undefined): Replica[] => [
    {
      id: "a",
      name: "shop-web-1",
      number: 1,
      imageId: "sha256:1",
      imageRef: "app:v1",
      running: true,
      health: "healthy",
      ...(hash ? { configHash: hash } : {}),
    },
  ];
  const input = (ref: string, hash: string | undefined, write = true) => ({
    compose: composeProject(project, process.env),
    service: "web",
    ref,
    write,
    running: running(hash),
    reporter: { event: (e: RolloutEvent) => events.push(e) },
    say: (l: string) => said.push(l),
  });
  return { dir, project, events, said, input };
}

describe("prepareTruth", () => {
  it("labels new containers with compose's hash for the new ref, then writes and verifies it", async () => {
    const t = await setup(
      "services:\n  web:\n    image: ${WEB_IMAGE:-app:v1}\n",
      "# env\nWEB_IMAGE=app:v1\n",
    );
    const now = await serviceHash(t.project, "web", process.env);
    const truth = await prepareTruth(t.input("app:v2", now));
    expect(t.said).toEqual([]);
    const expected = await serviceHash(t.project, "web", process.env, "app:v2");
    expect(truth.labels).toEqual({ "com.docker.compose.config-hash": expected });
    expect(readFileSync(join(t.dir, ".env"), "utf8")).toBe("# env\nWEB_IMAGE=app:v1\n");
    await truth.settle();
    expect(readFileSync(join(t.dir, ".env"), "utf8")).toBe("# env\nWEB_IMAGE=app:v2\n");
    expect(t.events).toEqual([
      expect.objectContaining({
        type: "compose",
        result: "written",
        detail: expect.stringMatching(/keeps the running containers/),
      }),
    ]);
  });

  it("a configuration change in the files (not only the image): compose creates the new containers", async () => {
    const t = await setup("services:\n  web:\n    image: app:v1\n");
    const truth = await prepareTruth(t.input("app:v2", "f".repeat(64)));
    expect(truth.imageOnly).toBe(false);
    expect(t.said[0]).toMatch(
      /web's configuration in the compose files differs .* they carry ffffffffffff\): compose creates/,
    );
  });

  it("only the image changed (the files name the running ref, or the tag was edited): a clone will do", async () => {
    const t = await setup("services:\n  web:\n    image: app:v2\n");
    // The running containers were created when the files said app:v1, nothing else differing.
    const asV1 = await serviceHash(t.project, "web", process.env, "app:v1");
    const truth = await prepareTruth(t.input("app:v2", asV1));
    expect(truth.imageOnly).toBe(true);
    expect(truth.config).toBe(await serviceHash(t.project, "web", process.env));
    expect(t.said).toEqual([]);
  });

  it("with --no-write, writes nothing and says what compose up would do", async () => {
    const t = await setup("services:\n  web:\n    image: app:v1 # pinned\n");
    const truth = await prepareTruth(t.input("app:v2", undefined, false));
    await truth.settle();
    expect(readFileSync(join(t.dir, "compose.yaml"), "utf8")).toBe(
      "services:\n  web:\n    image: app:v1 # pinned\n",
    );
    expect(t.events[0]).toMatchObject({
      result: "skipped",
      detail: expect.stringMatching(/still name app:v1, so `docker compose up -d` would recreate web/),
    });
  });

  it("refuses before anything changes when the ref does not fit the declaration", async () => {
    const t = await setup("services:\n  web:\n    image: reg/app:${TAG}\n", "TAG=v1\n");
    await expect(prepareTruth(t.input("other/app:v2", undefined))).rejects.toThrow(/does not fit/);
  });
});
