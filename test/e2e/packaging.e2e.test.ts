// The ways compose-roll is run besides the bin in this checkout: the npm tarball (packed once)
// installed globally and run through npx, the container image from images/build, and the
// Docker CLI plugin. The image rolls the demo to v2 and the plugin rolls it to v3, each a real
// rollout under load.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe } from "../load/probe.js";
import { BIN, containers, stackArgs } from "../support/cli.js";
import { type DemoStack, ROOT, startDemo } from "../support/stack.js";

const run = promisify(execFile);

/** Runs a command, never throwing: exit code and output, as a user sees them. */
async function sh(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  try {
    const { stdout, stderr } = await run(cmd, args, {
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
      ...(cwd ? { cwd } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

let stack: DemoStack;
beforeAll(async () => {
  const build = sh(join(ROOT, "images/build"), ["compose-roll"]);
  stack = await startDemo("pkg");
  const b = await build;
  expect(b.code, b.stderr).toBe(0);
  const sync = await sh(process.execPath, [BIN, "sync", "web", ...stackArgs(stack)]);
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
});

/** A rollout with the load probe running; returns the command's result and the probe's report. */
async function underLoad(cmd: string, args: string[], env: Record<string, string> = {}) {
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
  const t0 = Date.now();
  const r = await sh(cmd, args, env);
  const ms = Date.now() - t0;
  const load = await probe.stop();
  console.log(`${cmd} ${args.slice(0, 3).join(" ")}…: exit ${r.code} in ${ms} ms; ${formatReport(load)}`);
  return { ...r, load };
}

/** `npm pack` (its prepack builds) once for the tests below: a fresh directory holding the tarball. */
let packing: Promise<{ dir: string; name: string }> | undefined;
function packed(): Promise<{ dir: string; name: string }> {
  packing ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "compose-roll-npm-"));
    const pack = await sh("npm", ["pack", "--pack-destination", dir, ROOT]);
    expect(pack.code, pack.stderr).toBe(0);
    const name = pack.stdout.trim().split("\n").pop() ?? "";
    expect(name).toMatch(/^compose-roll-.*\.tgz$/);
    return { dir, name };
  })();
  return packing;
}

describe("npm", () => {
  it("packs a tarball that installs globally and runs as compose-roll", async () => {
    const { dir, name } = await packed();
    const tgz = join(dir, name);
    const install = await sh("npm", [
      "install",
      "-g",
      "--prefix",
      join(dir, "g"),
      "--no-audit",
      "--no-fund",
      tgz,
    ]);
    expect(install.code, install.stderr).toBe(0);
    const bin = join(dir, "g", "bin", "compose-roll");
    const help = await sh(bin, ["--help"]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: compose-roll/);
    // A real command from the installed copy: dependencies resolved from its own node_modules.
    const history = await sh(bin, ["history", "web", "-p", stack.project, "--json"]);
    expect(history.code, history.stderr).toBe(0);
  });

  // npx installs the tarball (and its dependencies, from npm's cache when they are there) into
  // its own cache and runs the `compose-roll` bin. Nothing named compose-roll is fetched from a
  // registry: the package is the local .tgz.
  it("runs `npx --package ./compose-roll-*.tgz compose-roll --help` from a fresh directory", async () => {
    const { dir, name } = await packed();
    // npx keys its install by the spec, here a path in a fresh directory: no earlier install
    // of compose-roll can answer instead of this tarball. Dependencies come from npm's cache
    // when they are there (offline), else from the registry.
    const env = { npm_config_prefer_offline: "true", npm_config_update_notifier: "false" };
    const help = await sh("npx", ["--yes", "--package", `./${name}`, "compose-roll", "--help"], env, dir);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: compose-roll/);
    // The same entry's Node check and option parsing: a bad flag is exit 2, one line.
    const bad = await sh(
      "npx",
      ["--yes", "--package", `./${name}`, "compose-roll", "--no-such-flag"],
      env,
      dir,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it("tells a Node older than 22.12 what to do, in one line, exit 2", async (ctx) => {
    const old = ["/usr/bin/node", "/usr/local/bin/node"].find((n) => {
      try {
        return Number(execFileSync(n, ["-p", "process.versions.node.split('.')[0]"]).toString()) < 22;
      } catch {
        return false;
      }
    });
    if (!old) return ctx.skip("no Node older than 22 on this machine");
    const r = await sh(old, [BIN, "status", "web"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^compose-roll: needs Node.js 22.12 or newer, and this is v\d+/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split("\n")).toHaveLength(2);
  });
});

describe("container image", () => {
  it("rolls the demo to v2 from `docker run ... compose-roll`, nothing dropped", async () => {
    const env = Object.entries(stack.composeEnv).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    // --network host: Traefik's API and entrypoint are still reached on the host's loopback
    // (until they are reached through the Docker host); the engine is the mounted socket.
    const r = await underLoad("docker", [
      "run",
      "--rm",
      "--network",
      "host",
      "-v",
      "/var/run/docker.sock:/var/run/docker.sock",
      "-v",
      `${stack.dir}:${stack.dir}`,
      "-w",
      stack.dir,
      ...env,
      "compose-roll",
      "web",
      "--image",
      "compose-roll-demo/app:v2",
      ...stackArgs(stack),
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.load.failed, JSON.stringify(r.load.failures)).toBe(0);
    expect((await containers(stack.project)).map((c) => c.image)).toEqual(
      Array(3).fill("compose-roll-demo/app:v2"),
    );
  });
});

describe("Docker CLI plugin", () => {
  it("is installed by `compose-roll install-plugin` and rolls the demo to v3 as `docker roll`", async () => {
    const config = mkdtempSync(join(tmpdir(), "compose-roll-docker-config-"));
    const install = await sh(process.execPath, [BIN, "install-plugin"], {
      DOCKER_CONFIG: config,
    });
    expect(install.code, install.stderr).toBe(0);
    const help = await sh("docker", ["--config", config, "--help"]);
    expect(help.stdout).toMatch(/roll\*?\s+Roll a Compose service/);
    const r = await underLoad(
      "docker",
      // docker's own global flags before the plugin name are docker's, and are honoured.
      [
        "--config",
        config,
        "--context",
        "default",
        "roll",
        "web",
        "--image",
        "compose-roll-demo/app:v3",
        ...stackArgs(stack),
        "--json",
      ],
      stack.composeEnv,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.load.failed, JSON.stringify(r.load.failures)).toBe(0);
    expect((await containers(stack.project)).map((c) => c.image)).toEqual(
      Array(3).fill("compose-roll-demo/app:v3"),
    );
    // A refusal through the plugin keeps compose-roll's exit code.
    const refused = await sh("docker", [
      "--config",
      config,
      "roll",
      "web",
      "--image",
      "nope:missing",
      "--pull",
      "never",
      ...stackArgs(stack),
    ]);
    expect(refused.code, refused.stderr).toBe(2);
  });
});
