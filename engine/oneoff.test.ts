// planOneOff on the same real inspect fixtures as template.test.ts: a compose container of
// app:v1 with two networks (front carries an alias), rolled to app:v2.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { planOneOff, TASK_LABEL } from "./oneoff.js";
import { Label } from "./template.js";
import { type ContainerInspect, type ImageInspect, imageInfo } from "./types.js";

const load = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")) as T;
const container = load<ContainerInspect>("compose-container.json");
const v1 = load<ImageInspect>("image-v1.json");
const v2 = imageInfo("compose-roll-demo/app:v2", load<ImageInspect>("image-v2.json"));
const argv = ["python3", "manage.py", "migrate", "--noinput"];

function plan(c: ContainerInspect = container) {
  return planOneOff({
    container: c,
    oldImage: v1,
    newImage: v2,
    argv,
    task: "pre-deploy",
    slug: "0123456789ab",
  });
}

describe("planOneOff", () => {
  it("is named and labelled as compose's own one-offs (so `compose ps` and observe() skip it)", () => {
    const { name, body } = plan();
    expect(name).toBe("crfix-web-run-0123456789ab");
    expect(body.Image).toBe("compose-roll-demo/app:v2");
    expect(body.Labels?.[Label.oneoff]).toBe("True");
    expect(body.Labels?.[Label.project]).toBe("crfix");
    expect(body.Labels?.[Label.service]).toBe("web");
    expect(body.Labels?.["com.docker.compose.slug"]).toBe("0123456789ab");
    expect(body.Labels?.[TASK_LABEL]).toBe("pre-deploy");
  });

  it("runs the hook's argv as CMD, keeping the image's entrypoint and the service's env", () => {
    const { body } = plan();
    expect(body.Cmd).toEqual(argv);
    expect(body.Entrypoint).toBeUndefined();
    expect(body.Env).toEqual(["BOOT_DELAY=0", "GREETING=hello"]);
  });

  it("has no healthcheck, restart policy, published port or Traefik label", () => {
    const c = structuredClone(container);
    c.HostConfig.RestartPolicy = { Name: "always", MaximumRetryCount: 0 };
    c.HostConfig.PortBindings = { "8000/tcp": [{ HostPort: "8001" }] };
    (c.Config.Labels as Record<string, string>)["traefik.http.routers.web.rule"] = "Host(`x`)";
    (c.Config.Labels as Record<string, string>)["com.compose-roll.revision"] = "4";
    const { body } = plan(c);
    expect(body.Healthcheck).toEqual({ Test: ["NONE"] });
    expect(body.HostConfig.RestartPolicy).toEqual({ Name: "no" });
    expect(body.HostConfig.PortBindings).toBeUndefined();
    expect(body.ExposedPorts).toBeUndefined();
    expect(Object.entries(body.Labels ?? {}).filter(([k]) => k.startsWith("traefik."))).toEqual([
      ["traefik.enable", "false"],
    ]);
    expect(body.Labels?.["com.compose-roll.revision"]).toBeUndefined();
  });

  it("joins every network of the service without an alias (the service name must not resolve to it)", () => {
    const { body, connect } = plan();
    const first = Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {});
    expect(first.length + connect.length).toBe(2);
    for (const [, ep] of first) expect(ep.Aliases).toBeUndefined();
    for (const { endpoint } of connect) expect(endpoint.Aliases).toBeUndefined();
  });
});
