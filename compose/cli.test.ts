import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { compose, composePlugin } from "./cli.js";

/** A fake HOME and system plugin directories; `plugins` names where a docker-compose sits. */
function layout(plugins: { user?: boolean; system?: number[]; mode?: number }, config?: string) {
  const root = mkdtempSync(join(tmpdir(), "cr-plugins-"));
  const dockerDir = join(root, "home", ".docker");
  const systemDirs = [0, 1, 2, 3].map((i) => join(root, `sys${i}`));
  const put = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    const f = join(dir, "docker-compose");
    writeFileSync(f, "#!/bin/sh\n");
    chmodSync(f, plugins.mode ?? 0o755);
    return f;
  };
  mkdirSync(dockerDir, { recursive: true });
  if (config !== undefined) writeFileSync(join(dockerDir, "config.json"), config);
  const user = plugins.user ? put(join(dockerDir, "cli-plugins")) : undefined;
  const system = (plugins.system ?? []).map((i) => put(systemDirs[i] as string));
  return { env: { HOME: join(root, "home") }, systemDirs, user, system, dockerDir };
}

describe("composePlugin", () => {
  it("finds the one docker-compose plugin the docker CLI would run", () => {
    const sys = layout({ system: [2] });
    expect(composePlugin(sys.env, sys.systemDirs)).toBe(sys.system[0]);
    const user = layout({ user: true }, "{}");
    expect(composePlugin(user.env, user.systemDirs)).toBe(user.user);
  });

  it("follows DOCKER_CONFIG to the user's plugin directory", () => {
    const l = layout({ user: true });
    expect(composePlugin({ DOCKER_CONFIG: l.dockerDir, HOME: "/nonexistent" }, l.systemDirs)).toBe(l.user);
    expect(composePlugin({ DOCKER_CONFIG: "/nonexistent" }, l.systemDirs)).toBeUndefined();
  });

  it("leaves the choice to `docker compose` when it is not clear-cut", () => {
    const none = layout({});
    expect(composePlugin(none.env, none.systemDirs)).toBeUndefined();
    const two = layout({ user: true, system: [0] });
    expect(composePlugin(two.env, two.systemDirs)).toBeUndefined();
    const extra = layout({ system: [1] }, JSON.stringify({ cliPluginsExtraDirs: ["/opt/plugins"] }));
    expect(composePlugin(extra.env, extra.systemDirs)).toBeUndefined();
    const unreadable = layout({ system: [1] }, "{not json");
    expect(composePlugin(unreadable.env, unreadable.systemDirs)).toBeUndefined();
    const notExecutable = layout({ system: [3], mode: 0o644 });
    expect(composePlugin(notExecutable.env, notExecutable.systemDirs)).toBeUndefined();
  });

  it("on this machine, runs the provisioned plugin itself: no docker CLI needed on PATH", async () => {
    expect(composePlugin(process.env)).toMatch(/docker-compose$/);
    const d = mkdtempSync(join(tmpdir(), "cr-plugin-run-"));
    writeFileSync(join(d, "compose.yaml"), "services: {web: {image: 'app:${TAG:?needs TAG}'}}\n");
    const project = { files: [], envFiles: [], profiles: [] };
    // Neither `docker` nor `docker-compose` can be found on this PATH: only the direct path works.
    const env = { HOME: process.env.HOME, PATH: "/nonexistent" };
    const out = await compose(project, ["config", "--images"], { cwd: d, env: { ...env, TAG: "v7" } });
    expect(out.trim()).toBe("app:v7");
    // Compose's own error still comes through as the refusal.
    await expect(compose(project, ["config"], { cwd: d, env })).rejects.toThrow(/needs TAG/);
  });
});

describe("compose", () => {
  it("kills a `docker compose` that never finishes, with a line saying so", async () => {
    const root = mkdtempSync(join(tmpdir(), "cr-hang-"));
    const bin = join(root, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "docker"), "#!/bin/sh\nexec /bin/sleep 30\n");
    chmodSync(join(bin, "docker"), 0o755);
    // Extra plugin directories: composePlugin() leaves the choice to `docker`, which is ours.
    mkdirSync(join(root, "config"));
    writeFileSync(join(root, "config", "config.json"), '{"cliPluginsExtraDirs": []}');
    const t0 = Date.now();
    const err = await compose({ files: [], envFiles: [], profiles: [] }, ["config", "--format", "yaml"], {
      cwd: root,
      env: { PATH: bin, DOCKER_CONFIG: join(root, "config") },
      timeoutMs: 300,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err).toBeInstanceOf(RefusedError);
    expect(String(err)).toMatch(/docker compose config yaml did not finish within 0.3s and was killed/);
  });
});
