// Fixtures are real inspect output from Docker 20.10 (API 1.41), trimmed: a container that
// compose 2.31 created from compose-roll-demo/app:v1 with an env override, a healthcheck
// interval override, two labels, stop_grace_period 7s, and two networks (front with an alias).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ImageInfo } from "../controller/model.js";
import { Label, planClone } from "./template.js";
import { type ContainerInspect, type ImageInspect, imageInfo } from "./types.js";

const load = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")) as T;
const container = load<ContainerInspect>("compose-container.json");
const v1 = load<ImageInspect>("image-v1.json");
const v2 = load<ImageInspect>("image-v2.json");
const v2info: ImageInfo = imageInfo("compose-roll-demo/app:v2", v2);

const clone = (c: ContainerInspect = container, number = 4) =>
  planClone({ container: c, oldImage: v1, newImage: v2info, number });
const edit = (f: (c: ContainerInspect) => void): ContainerInspect => {
  const c = structuredClone(container);
  f(c);
  return c;
};

describe("planClone", () => {
  it("names the clone <project>-<service>-<number> and uses the new image ref", () => {
    const { name, body } = clone();
    expect(name).toBe("crfix-web-4");
    expect(body.Image).toBe("compose-roll-demo/app:v2");
  });

  it("keeps the user's env and drops the old image's (so v2's RELEASE, BOOT_DELAY... apply)", () => {
    const { body } = clone();
    expect(body.Env).toEqual(["BOOT_DELAY=0", "GREETING=hello"]);
    expect(body.Env?.some((e) => e.startsWith("RELEASE=") || e.startsWith("PATH="))).toBe(false);
  });

  it("omits Cmd, WorkingDir, StopSignal, ExposedPorts equal to the old image's", () => {
    const { body } = clone();
    for (const k of ["Cmd", "Entrypoint", "WorkingDir", "StopSignal", "ExposedPorts", "Volumes", "User"]) {
      expect(body, k).not.toHaveProperty(k);
    }
  });

  it("keeps a Cmd, Entrypoint or WorkingDir the user overrode", () => {
    const c = edit((c) => {
      c.Config.Cmd = ["python3", "-m", "http.server"];
      c.Config.Entrypoint = ["/bin/sh", "-c"];
      c.Config.WorkingDir = "/srv";
    });
    const { body } = clone(c);
    expect(body.Cmd).toEqual(["python3", "-m", "http.server"]);
    expect(body.Entrypoint).toEqual(["/bin/sh", "-c"]);
    expect(body.WorkingDir).toBe("/srv");
  });

  it("keeps only the overridden healthcheck fields, so the new image's test command applies", () => {
    // compose set `healthcheck: {interval: 2s}`; inspect shows it merged with v1's HEALTHCHECK.
    expect(clone().body.Healthcheck).toEqual({ Interval: 2_000_000_000 });
  });

  it("omits a healthcheck identical to the image's, keeps a disabled one", () => {
    const same = edit((c) => {
      c.Config.Healthcheck = v1.Config?.Healthcheck ?? null;
    });
    expect(clone(same).body).not.toHaveProperty("Healthcheck");
    const off = edit((c) => {
      c.Config.Healthcheck = { Test: ["NONE"] };
    });
    expect(clone(off).body.Healthcheck).toEqual({ Test: ["NONE"] });
  });

  it("keeps the user's and compose's labels, drops the old image's, re-stamps number and image", () => {
    const labels = clone().body.Labels ?? {};
    expect(labels["traefik.enable"]).toBe("false");
    expect(labels["org.example.team"]).toBe("platform");
    expect(labels).not.toHaveProperty("org.opencontainers.image.version");
    expect(labels).not.toHaveProperty("compose-roll.build.inputs-hash");
    expect(labels[Label.project]).toBe("crfix");
    expect(labels[Label.service]).toBe("web");
    expect(labels[Label.number]).toBe("4");
    expect(labels[Label.oneoff]).toBe("False");
    expect(labels[Label.image]).toBe(v2.Id);
    expect(labels[Label.imageRef]).toBe("compose-roll-demo/app:v2");
    const old = container.Config.Labels ?? {};
    for (const k of [
      "com.docker.compose.config-hash",
      "com.docker.compose.version",
      "com.docker.compose.project.working_dir",
      "com.docker.compose.project.config_files",
      "com.docker.compose.depends_on",
    ]) {
      expect(labels[k], k).toBe(old[k]);
    }
  });

  it("keeps the user's value of a label the image also sets, if it differs", () => {
    const c = edit((c) => {
      (c.Config.Labels ?? {})["org.opencontainers.image.version"] = "custom";
    });
    expect(clone(c).body.Labels?.["org.opencontainers.image.version"]).toBe("custom");
  });

  it("drops the old hostname (its short ID) but keeps one the user chose", () => {
    expect(clone().body).not.toHaveProperty("Hostname");
    const c = edit((c) => {
      c.Config.Hostname = "web-host";
    });
    expect(clone(c).body.Hostname).toBe("web-host");
  });

  it("keeps stop_grace_period (StopTimeout)", () => {
    expect(clone().body.StopTimeout).toBe(7);
  });

  it("creates on NetworkMode's network and connects the other before start", () => {
    const { body, connect } = clone();
    expect(body.HostConfig.NetworkMode).toBe("crfix_back");
    expect(Object.keys(body.NetworkingConfig?.EndpointsConfig ?? {})).toEqual(["crfix_back"]);
    expect(connect.map((c) => c.network)).toEqual(["crfix_front"]);
  });

  it("swaps the old name and short ID out of the aliases and keeps service and configured aliases", () => {
    const { body, connect } = clone();
    expect(body.NetworkingConfig?.EndpointsConfig.crfix_back?.Aliases).toEqual(["crfix-web-4", "web"]);
    expect(connect[0]?.endpoint.Aliases).toEqual(["crfix-web-4", "web", "webapp"]);
  });

  it("copies no address, MAC or endpoint ID", () => {
    const { body, connect } = clone();
    const eps = [body.NetworkingConfig?.EndpointsConfig.crfix_back, connect[0]?.endpoint];
    for (const ep of eps) {
      expect(Object.keys(ep ?? {})).toEqual(["Aliases"]);
    }
    expect(body).not.toHaveProperty("MacAddress");
  });

  it("copies HostConfig but not the daemon-owned masked paths", () => {
    const { body } = clone();
    expect(body.HostConfig.ShmSize).toBe(container.HostConfig.ShmSize);
    expect(body.HostConfig).not.toHaveProperty("MaskedPaths");
    expect(body.HostConfig).not.toHaveProperty("ReadonlyPaths");
  });

  it("puts no alias on the default bridge, which refuses them", () => {
    const c = edit((c) => {
      c.HostConfig.NetworkMode = "default";
      const ep = c.NetworkSettings.Networks?.crfix_back ?? {};
      c.NetworkSettings.Networks = { bridge: { ...ep, Aliases: null } };
    });
    const { body, connect } = clone(c);
    expect(body.HostConfig.NetworkMode).toBe("default");
    expect(body.NetworkingConfig?.EndpointsConfig).toEqual({ bridge: {} });
    expect(connect).toEqual([]);
  });

  it("rewrites inspect-style links for create", () => {
    const c = edit((c) => {
      c.HostConfig.Links = ["/crfix-db-1:/crfix-web-1/db"];
    });
    expect(clone(c).body.HostConfig.Links).toEqual(["crfix-db-1:db"]);
  });

  it("refuses a container without compose labels", () => {
    const c = edit((c) => {
      c.Config.Labels = {};
    });
    expect(() => clone(c)).toThrow(/no compose project\/service labels/);
  });
});
