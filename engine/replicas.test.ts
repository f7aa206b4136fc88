import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exitCodeFor } from "../controller/errors.js";
import { serviceFilters, toReplica, urlOf } from "./replicas.js";
import type { ContainerInspect } from "./types.js";

const container = JSON.parse(
  readFileSync(new URL("./fixtures/compose-container.json", import.meta.url), "utf8"),
) as ContainerInspect;
const edit = (f: (c: ContainerInspect) => void): ContainerInspect => {
  const c = structuredClone(container);
  f(c);
  return c;
};

describe("toReplica", () => {
  it("refuses (exit 2) a container whose compose number label is not a number", () => {
    const c = edit((x) => {
      (x.Config.Labels as Record<string, string>)["com.docker.compose.container-number"] = "one";
    });
    const err = (() => {
      try {
        return toReplica(c, [8000], {});
      } catch (e) {
        return e;
      }
    })();
    expect(exitCodeFor(err)).toBe(2);
    expect((err as Error).message).toMatch(/container-number=one, not a number/);
  });

  it("maps a running, healthy compose container", () => {
    const r = toReplica(container, [8000], { network: "crfix_front" });
    expect(r).toEqual({
      id: container.Id,
      name: "crfix-web-1",
      number: 1,
      imageId: container.Image,
      imageRef: "compose-roll-demo/app:v1",
      running: true,
      health: "healthy",
      url: "http://f00f5c946f36:8000",
      configHash: container.Config.Labels?.["com.docker.compose.config-hash"],
      // Its traefik.* labels, which label mode compares with the files' before a rollout.
      traefikLabels: { "traefik.enable": "false" },
    });
  });

  it("prefers compose-roll's image-ref label over Config.Image", () => {
    const c = edit((c) => {
      (c.Config.Labels ?? {})["com.compose-roll.image-ref"] = "compose-roll-demo/app:v2";
    });
    expect(toReplica(c, [8000], {}).imageRef).toBe("compose-roll-demo/app:v2");
  });

  it("reports an exited container with its exit code and no url", () => {
    const c = edit((c) => {
      c.State = { Status: "exited", Running: false, ExitCode: 3, Health: { Status: "unhealthy" } };
      for (const ep of Object.values(c.NetworkSettings.Networks ?? {})) ep.IPAddress = "";
    });
    const r = toReplica(c, [8000], { network: "crfix_back" });
    expect(r).toMatchObject({ running: false, exitCode: 3, health: "unhealthy" });
    expect(r).not.toHaveProperty("url");
  });

  it("reports health none without a healthcheck", () => {
    const c = edit((c) => {
      c.State.Health = undefined;
    });
    expect(toReplica(c, [8000], {}).health).toBe("none");
  });
});

describe("urlOf", () => {
  it("leaves the url undefined when the container has several networks and none was chosen", () => {
    expect(urlOf(container, [8000], {})).toBeUndefined();
  });

  it("uses the only network and the image's only port by default", () => {
    const c = edit((c) => {
      delete c.NetworkSettings.Networks?.crfix_front;
    });
    expect(urlOf(c, [8000], {})).toBe("http://f00f5c946f36:8000");
  });

  it("needs an explicit port when the image exposes several or none", () => {
    expect(urlOf(container, [8000, 9000], { network: "crfix_back" })).toBeUndefined();
    expect(urlOf(container, [], { network: "crfix_back" })).toBeUndefined();
    expect(urlOf(container, [8000, 9000], { network: "crfix_back", port: 9000 })).toBe(
      "http://f00f5c946f36:9000",
    );
  });

  it("takes a per-image port over the shared one, for that image only", () => {
    const byImage = { network: "crfix_back", port: 8000, portByImage: { [container.Image]: 9999 } };
    expect(urlOf(container, [8000], byImage)).toBe("http://f00f5c946f36:9999");
    const other = { ...byImage, portByImage: { "sha256:someotherimage": 9999 } };
    expect(urlOf(container, [8000], other)).toBe("http://f00f5c946f36:8000");
  });

  it("falls back to the container's exposed ports when the image is unknown", () => {
    expect(urlOf(container, undefined, { network: "crfix_back" })).toBe("http://f00f5c946f36:8000");
  });

  it("is undefined for a network the container is not on", () => {
    expect(urlOf(container, [8000], { network: "other" })).toBeUndefined();
  });

  it("is undefined for a container that is not running (neither its name nor IP answers)", () => {
    const stopped = edit((c) => {
      c.State = { ...c.State, Running: false, ExitCode: 0 };
    });
    expect(urlOf(stopped, [8000], { network: "crfix_back" })).toBeUndefined();
    const restarting = edit((c) => {
      c.State = { ...c.State, Restarting: true };
    });
    expect(urlOf(restarting, [8000], { network: "crfix_back" })).toBeUndefined();
  });

  it("keeps the IP on the default bridge network, where Docker's DNS does not resolve names", () => {
    const c = edit((c) => {
      const nets = c.NetworkSettings.Networks ?? {};
      nets.bridge = { ...nets.crfix_back, IPAddress: "172.17.0.4" } as (typeof nets)[string];
    });
    expect(urlOf(c, [8000], { network: "bridge" })).toBe("http://172.17.0.4:8000");
    const v6 = edit((c) => {
      const nets = c.NetworkSettings.Networks ?? {};
      nets.bridge = { ...nets.crfix_back, IPAddress: "fd00::4" } as (typeof nets)[string];
    });
    expect(urlOf(v6, [8000], { network: "bridge" })).toBe("http://[fd00::4]:8000");
  });

  it("falls back to the IP when the name is not one DNS label (dots would meet search domains)", () => {
    const c = edit((c) => {
      c.Name = "/my.app.1";
      for (const ep of Object.values(c.NetworkSettings.Networks ?? {})) ep.Aliases = ["my.app.1"];
    });
    expect(urlOf(c, [8000], { network: "crfix_back" })).toBe("http://172.20.0.2:8000");
  });

  it("uses the name when Docker's DNS lists it but not the ID, and else the IP", () => {
    const named = edit((c) => {
      for (const ep of Object.values(c.NetworkSettings.Networks ?? {})) ep.Aliases = ["crfix-web-1", "web"];
    });
    expect(urlOf(named, [8000], { network: "crfix_back" })).toBe("http://crfix-web-1:8000");
    const c = edit((c) => {
      for (const ep of Object.values(c.NetworkSettings.Networks ?? {})) ep.Aliases = ["web"];
    });
    expect(urlOf(c, [8000], { network: "crfix_back" })).toBe("http://172.20.0.2:8000");
    // API 1.44+ lists every resolvable name in DNSNames.
    const listed = edit((c) => {
      for (const ep of Object.values(c.NetworkSettings.Networks ?? {})) {
        ep.Aliases = null;
        ep.DNSNames = ["crfix-web-1", "f00f5c946f36"];
      }
    });
    expect(urlOf(listed, [8000], { network: "crfix_back" })).toBe("http://f00f5c946f36:8000");
  });
});

describe("serviceFilters", () => {
  it("selects the service's non-one-off containers", () => {
    expect(serviceFilters({ project: "demo", service: "web" })).toEqual({
      label: [
        "com.docker.compose.project=demo",
        "com.docker.compose.service=web",
        "com.docker.compose.oneoff=False",
      ],
    });
  });
});
