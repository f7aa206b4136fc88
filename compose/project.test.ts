// These run the real `docker compose config` (provisioned with the testbed): the model is
// compose's, so the tests check that compose-roll asks compose the right questions.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { checkRollable, fixedHostPorts, loadProject, normalizeProjectName, serviceHash } from "./project.js";

function dir(files: Record<string, string>, name = "My App"): string {
  const d = join(mkdtempSync(join(tmpdir(), "cr-")), name);
  mkdirSync(d);
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(join(d, f, ".."), { recursive: true });
    writeFileSync(join(d, f), body);
  }
  return d;
}

describe("loadProject", () => {
  it("names the project like compose: -p, then COMPOSE_PROJECT_NAME, then name:, then the directory", async () => {
    const d = dir({ "compose.yaml": "name: shop\nservices: {web: {image: x}}\n" });
    const base = { files: [], cwd: d, env: process.env };
    expect((await loadProject({ ...base, projectName: "given" })).name).toBe("given");
    expect(
      (await loadProject({ ...base, env: { ...process.env, COMPOSE_PROJECT_NAME: "fromenv" } })).name,
    ).toBe("fromenv");
    expect((await loadProject(base)).name).toBe("shop");
    const d2 = dir({ "docker-compose.yml": "services: {web: {image: x}}\n" });
    expect((await loadProject({ ...base, cwd: d2 })).name).toBe("myapp");
  });

  it("finds compose.yaml and its override, in a parent directory too, and merges -f files in order", async () => {
    const d = dir({
      "compose.yaml": "services: {web: {image: a}}\n",
      "compose.override.yaml": "services: {web: {image: b}}\n",
      "docker-compose.yml": "services: {other: {image: b}}\n",
      "override.yml": "services: {web: {container_name: pinned}}\n",
      "sub/dir/.keep": "",
    });
    const found = await loadProject({ files: [], cwd: join(d, "sub/dir"), env: process.env });
    expect(found.files).toEqual([join(d, "compose.yaml"), join(d, "compose.override.yaml")]);
    expect(found.services.web?.image).toBe("b");
    expect(found.envFiles).toEqual([join(d, ".env")]);
    const p = await loadProject({ files: ["compose.yaml", "override.yml"], cwd: d, env: process.env });
    expect(p.services.web?.containerName).toBe("pinned");
  });

  it("lets compose interpolate: env files, defaults, and the errors of ${X:?}", async () => {
    const d = dir({
      "compose.yaml":
        "services:\n  web:\n    image: ${IMG:-app:v1}\n    pull_policy: never\n  api:\n    image: ${API_IMG:?set API_IMG}\n",
      "prod.env": "IMG=app:v7\nAPI_IMG=api:1\n",
    });
    const p = await loadProject({ files: [], cwd: d, env: process.env, envFiles: ["prod.env"] });
    expect(p.services.web).toMatchObject({ image: "app:v7", pullPolicy: "never" });
    expect(p.rawImages.web).toBe("${IMG:-app:v1}");
    expect(p.envFiles).toEqual([join(d, "prod.env")]);
    await expect(loadProject({ files: [], cwd: d, env: process.env })).rejects.toThrow(/set API_IMG/);
  });

  it("reads environment with env_file merged in, and command as an argv, with $$ as the container gets it ($)", async () => {
    const d = dir({
      "compose.yaml":
        "services:\n  worker:\n    image: a\n    env_file: [app.env]\n    environment:\n      DEBUG: '1'\n      PASS:\n    command: [sh, -c, 'echo $$HOME']\n",
      "app.env": "SECRET=s1\nDEBUG=0\n",
    });
    const p = await loadProject({ files: [], cwd: d, env: { ...process.env, PASS: undefined } });
    expect(p.services.worker?.environment).toEqual({ DEBUG: "1", SECRET: "s1", PASS: null });
    expect(p.services.worker?.command).toEqual(["sh", "-c", "echo $HOME"]);
  });

  it("reads deploy.update_config.monitor, the bake's default", async () => {
    const d = dir({
      "compose.yaml":
        "services:\n  web:\n    image: a\n    deploy:\n      update_config:\n        monitor: 1m30s\n  api:\n    image: b\n",
    });
    const p = await loadProject({ files: [], cwd: d, env: process.env });
    expect(p.services.web?.monitor).toBe("1m30s");
    expect(p.services.api?.monitor).toBeUndefined();
  });

  it("reads x-compose-roll at the top and in a service", async () => {
    const d = dir({
      "compose.yaml":
        "x-compose-roll: {drain: 5s}\nservices:\n  web:\n    image: a\n    x-compose-roll: {max-surge: 2}\n",
    });
    const p = await loadProject({ files: [], cwd: d, env: process.env });
    expect(p.settings).toEqual({ drain: "5s" });
    expect(p.services.web?.settings).toEqual({ "max-surge": 2 });
  });

  it("knows which file declares each x-compose-roll block: the last one, as compose merges them", async () => {
    const d = dir({
      "compose.yaml":
        "x-compose-roll: {drain: 5s}\nservices:\n  web:\n    image: a\n    x-compose-roll: {max-surge: 2}\n  api:\n    image: b\n    x-compose-roll: {drain: 1s}\n",
      "compose.override.yaml": "services:\n  web:\n    x-compose-roll: {drain: soon}\n  api:\n    image: c\n",
      "prod.yaml": "x-compose-roll: {drain: 9s}\n",
    });
    const found = await loadProject({ files: [], cwd: d, env: process.env });
    expect(found.services.web?.settings).toEqual({ drain: "soon" });
    expect(found.services.web?.settingsFile).toBe(join(d, "compose.override.yaml"));
    expect(found.services.api?.settingsFile).toBe(join(d, "compose.yaml"));
    expect(found.settingsFile).toBe(join(d, "compose.yaml"));
    const three = await loadProject({
      files: ["compose.yaml", "compose.override.yaml", "prod.yaml"],
      cwd: d,
      env: process.env,
    });
    expect(three.settings).toEqual({ drain: "9s" });
    expect(three.settingsFile).toBe(join(d, "prod.yaml"));
    expect(three.services.web?.settingsFile).toBe(join(d, "compose.override.yaml"));
  });

  it("reads a literal $ in x-compose-roll as written, not as compose's $$ escape", async () => {
    const d = dir({
      "compose.yaml":
        'x-compose-roll: {probe-path: "/h?a=$$x"}\nservices:\n  web:\n    image: a\n    x-compose-roll: {traefik-service: "$(x)"}\n',
    });
    const p = await loadProject({ files: [], cwd: d, env: process.env });
    expect(p.settings).toEqual({ "probe-path": "/h?a=$x" });
    expect(p.services.web?.settings).toEqual({ "traefik-service": "$(x)" });
  });

  it("refuses network modes two containers cannot share", () => {
    const project = (networkMode: string) => ({
      name: "p",
      dir: "/srv",
      files: ["/srv/compose.yaml"],
      envFiles: [],
      services: { web: { fixedHostPorts: [], networkMode } },
      args: { files: [], envFiles: [], profiles: [] },
      rawImages: {},
    });
    for (const mode of ["host", "none", "container:db", "service:db"])
      expect(() => checkRollable(project(mode), "web")).toThrow(new RegExp(`network_mode: ${mode}`));
    expect(() => checkRollable(project("shop_default"), "web")).not.toThrow();
  });

  it("refuses a missing -f file and unparseable YAML", async () => {
    const d = dir({ "compose.yaml": "services: [\n" });
    await expect(loadProject({ files: ["nope.yml"], cwd: d, env: process.env })).rejects.toThrow(
      /compose file not found/,
    );
    await expect(loadProject({ files: [], cwd: d, env: process.env })).rejects.toThrow(RefusedError);
  });

  it("works without any compose file (labels-only mode)", async () => {
    const d = dir({});
    const p = await loadProject({ files: [], projectName: "demo", cwd: d, env: process.env });
    expect(p).toMatchObject({ name: "demo", files: [], services: {} });
    expect(() => checkRollable(p, "web")).not.toThrow();
  });
});

describe("serviceHash", () => {
  it("is compose's hash, and changes with the image override only", async () => {
    const d = dir({ "compose.yaml": "services:\n  web:\n    image: ${IMG:-app:v1}\n" });
    const p = await loadProject({ files: [], cwd: d, env: process.env });
    const now = await serviceHash(p, "web", process.env);
    expect(now).toMatch(/^[a-f0-9]{64}$/);
    const v2 = await serviceHash(p, "web", process.env, "app:v2");
    expect(v2).not.toBe(now);
    expect(await serviceHash(p, "web", { ...process.env, IMG: "app:v2" })).toBe(v2);
    expect(await serviceHash(p, "web", process.env, "app:v1")).toBe(now);
  });
});

describe("checkRollable", () => {
  const load = (svc: string) =>
    loadProject({ files: [], cwd: dir({ "compose.yaml": `services:\n  web:\n${svc}` }), env: process.env });

  it("accepts a plain service and an ephemeral published port", async () => {
    const p = await load('    image: x\n    ports: ["8000"]\n');
    expect(() => checkRollable(p, "web")).not.toThrow();
  });
  it("refuses container_name, saying why", async () => {
    const p = await load("    image: x\n    container_name: web1\n");
    expect(() => checkRollable(p, "web")).toThrow(
      /sets container_name: web1, so a second container cannot start/,
    );
  });
  it("refuses a fixed host port", async () => {
    const p = await load('    image: x\n    ports: ["8000:8000"]\n');
    expect(() => checkRollable(p, "web")).toThrow(/fixed host port/);
  });
  it("refuses an unknown service, listing the known ones", async () => {
    const p = await load("    image: x\n");
    expect(() => checkRollable(p, "api")).toThrow(/no service "api" .*services: web/);
  });
});

describe("fixedHostPorts", () => {
  it("tells pinned host ports from ephemeral ones", () => {
    expect(fixedHostPorts(["8000", 8000, "127.0.0.1::80", "80:80", "127.0.0.1:81:80/tcp"])).toEqual([
      "80:80",
      "127.0.0.1:81:80/tcp",
    ]);
    expect(fixedHostPorts([{ target: 80 }, { target: 80, published: "8080" }])).toEqual(["8080:80"]);
    expect(fixedHostPorts([{ host_ip: "127.0.0.1", target: 80, published: "8080" }])).toEqual([
      "127.0.0.1:8080:80",
    ]);
  });
});

it("normalizes project names like compose", () => {
  expect(normalizeProjectName("_My.App-2")).toBe("myapp-2");
});
