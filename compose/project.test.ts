import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { checkRollable, fixedHostPorts, loadProject, normalizeProjectName } from "./project.js";

function dir(files: Record<string, string>, name = "My App"): string {
  const d = join(mkdtempSync(join(tmpdir(), "cr-")), name);
  mkdirSync(d);
  for (const [f, body] of Object.entries(files)) writeFileSync(join(d, f), body);
  return d;
}

describe("loadProject", () => {
  it("names the project like compose: -p, then COMPOSE_PROJECT_NAME, then name:, then the directory", () => {
    const d = dir({ "compose.yaml": "name: Shop\nservices: {web: {image: x}}\n" });
    const base = { files: [], cwd: d, env: {} };
    expect(loadProject({ ...base, projectName: "given" }).name).toBe("given");
    expect(loadProject({ ...base, env: { COMPOSE_PROJECT_NAME: "fromenv" } }).name).toBe("fromenv");
    expect(loadProject(base).name).toBe("shop");
    const d2 = dir({ "docker-compose.yml": "services: {web: {image: x}}\n" });
    expect(loadProject({ ...base, cwd: d2 }).name).toBe("myapp");
  });

  it("prefers compose.yaml over docker-compose.yml and merges -f files in order", () => {
    const d = dir({
      "compose.yaml": "services: {web: {image: a}}\n",
      "docker-compose.yml": "services: {other: {image: b}}\n",
      "override.yml": "services: {web: {container_name: pinned}}\n",
    });
    expect(Object.keys(loadProject({ files: [], cwd: d, env: {} }).services)).toEqual(["web"]);
    const p = loadProject({ files: ["compose.yaml", "override.yml"], cwd: d, env: {} });
    expect(p.services.web?.containerName).toBe("pinned");
  });

  it("refuses a missing -f file and unparseable YAML", () => {
    const d = dir({ "compose.yaml": "services: [\n" });
    expect(() => loadProject({ files: ["nope.yml"], cwd: d, env: {} })).toThrow(/compose file not found/);
    expect(() => loadProject({ files: [], cwd: d, env: {} })).toThrow(RefusedError);
  });

  it("works without any compose file (labels-only mode)", () => {
    const d = dir({});
    const p = loadProject({ files: [], projectName: "demo", cwd: d, env: {} });
    expect(p).toEqual({ name: "demo", files: [], services: {} });
    expect(() => checkRollable(p, "web")).not.toThrow();
  });
});

describe("checkRollable", () => {
  const load = (svc: string) =>
    loadProject({ files: [], cwd: dir({ "compose.yaml": `services:\n  web:\n${svc}` }), env: {} });

  it("accepts a plain service", () => {
    expect(() => checkRollable(load("    image: x\n"), "web")).not.toThrow();
  });
  it("refuses container_name, saying why", () => {
    expect(() => checkRollable(load("    container_name: web1\n"), "web")).toThrow(
      /sets container_name: web1, so a second container cannot start/,
    );
  });
  it("refuses a fixed host port", () => {
    expect(() => checkRollable(load('    ports: ["8000:8000"]\n'), "web")).toThrow(/fixed host port/);
  });
  it("refuses an unknown service, listing the known ones", () => {
    expect(() => checkRollable(load("    image: x\n"), "api")).toThrow(/no service api .*services: web/);
  });
});

describe("fixedHostPorts", () => {
  it("tells pinned host ports from ephemeral ones", () => {
    expect(fixedHostPorts(["8000", 8000, "127.0.0.1::80", "80:80", "127.0.0.1:81:80/tcp"])).toEqual([
      "80:80",
      "127.0.0.1:81:80/tcp",
    ]);
    expect(fixedHostPorts([{ target: 80 }, { target: 80, published: "8080" }])).toHaveLength(1);
  });
});

it("normalizes project names like compose", () => {
  expect(normalizeProjectName("_My.App-2")).toBe("myapp-2");
});
