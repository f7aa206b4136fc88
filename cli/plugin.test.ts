import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { installPlugin, metadata, pluginArgs } from "./plugin.js";

describe("docker roll: the argv the docker CLI passes a plugin", () => {
  it("drops the plugin name", () => {
    expect(pluginArgs(["roll", "web", "--image", "app:v2"])).toEqual({
      args: ["web", "--image", "app:v2"],
      env: {},
    });
  });

  it("passes a release on: docker roll up [SERVICE...]", () => {
    expect(pluginArgs(["roll", "up", "web", "worker", "--dry-run"]).args).toEqual([
      "up",
      "web",
      "worker",
      "--dry-run",
    ]);
  });

  it("turns docker's global flags into the environment docker would have acted on", () => {
    expect(pluginArgs(["--context", "prod", "roll", "status", "web"])).toEqual({
      args: ["status", "web"],
      env: { DOCKER_CONTEXT: "prod", DOCKER_HOST: undefined },
    });
    expect(pluginArgs(["-H", "ssh://root@h", "--config=/c", "roll", "web"]).env).toEqual({
      DOCKER_HOST: "ssh://root@h",
      DOCKER_CONTEXT: undefined,
      DOCKER_CONFIG: "/c",
    });
    expect(pluginArgs(["--tlsverify", "-H", "tcp://h:2376", "roll", "web"]).env).toMatchObject({
      DOCKER_TLS_VERIFY: "1",
    });
    expect(pluginArgs(["-D", "roll", "web"]).args).toEqual(["web", "--verbose"]);
  });

  it("keeps the service's own flags after roll, even ones docker also has", () => {
    expect(pluginArgs(["roll", "web", "-H", "x"]).args).toEqual(["web", "-H", "x"]);
  });

  it("refuses TLS file flags and anything else it does not know", () => {
    expect(() => pluginArgs(["--tlscacert", "/ca.pem", "roll", "web"])).toThrow(/not supported/);
    expect(() => pluginArgs(["--weird", "roll"])).toThrow(/unexpected argument --weird/);
  });

  it("answers the metadata call with what the docker CLI requires", () => {
    const m = metadata();
    expect(m.SchemaVersion).toBe("0.1.0");
    expect(m.Vendor).toBeTruthy();
    expect(m.Version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("installs an executable shim that runs this Node on the entry point", () => {
    const dir = mkdtempSync(join(tmpdir(), "compose-roll-plugins-"));
    const file = installPlugin({ dir, node: "/opt/node's/bin/node", entry: "/x/entry.js", env: {} });
    expect(file).toBe(join(dir, "docker-roll"));
    expect(statSync(file).mode & 0o111).toBeTruthy();
    expect(readFileSync(file, "utf8")).toContain(
      `COMPOSE_ROLL_DOCKER_PLUGIN=1 exec '/opt/node'\\''s/bin/node' -- '/x/entry.js' "$@"`,
    );
  });
});
