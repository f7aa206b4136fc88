// The last revision's settings come from labels on the Docker host: anyone who can write
// there can plant them. These tests pin what compose-roll does with them.
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { decodeLock, encodeLock, LockLabel, MAX_LOCK_REPLICAS } from "../state/labels.js";
import { parseOptions } from "./options.js";
import { resolveSettings, type SettingsInput } from "./settings.js";

const base: SettingsInput = { flags: {}, env: {}, projectDir: "/srv/shop", serviceName: "web" };
const planted = {
  traefikFile: "/etc/cron.d/owned.yml",
  traefikApi: "http://169.254.169.254/latest/",
  traefikUrl: "http://10.0.0.5/",
  traefikService: "web-edge",
};

describe("remembered settings from a tcp:// Docker host", () => {
  const remote = { ...base, remembered: planted, host: { url: "tcp://build:2375", remote: true } };

  it("are not followed when they name a local path or URL, and one line says which", () => {
    const { raw, sources, ignored } = resolveSettings(remote);
    expect(raw.traefikFile).toBeUndefined();
    expect(raw.traefikApi).toBeUndefined();
    expect(raw.traefikUrl).toBeUndefined();
    expect(sources["traefik-file"]).toBe("default");
    // A name is no path: it still comes from the record.
    expect(raw.traefikService).toBe("web-edge");
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toMatch(/traefik-api.*traefik-url.*traefik-file/);
    expect(ignored[0]).toMatch(/tcp:\/\/build:2375/);
    expect(ignored[0]).toMatch(/--trust-host-settings/);
  });

  it("are followed with --trust-host-settings, or when the host is local", () => {
    const trusted = resolveSettings({ ...remote, flags: { trustHostSettings: true } });
    expect(trusted.raw.traefikFile).toBe(planted.traefikFile);
    expect(trusted.ignored).toEqual([]);
    const local = resolveSettings({ ...remote, host: { url: "unix:///var/run/docker.sock", remote: false } });
    expect(local.raw.traefikApi).toBe(planted.traefikApi);
    expect(local.ignored).toEqual([]);
  });

  it("are not reported as ignored when a flag names them anyway", () => {
    const flags = { traefikFile: "/srv/t/web.yml", traefikApi: "http://t:8080", traefikUrl: "http://t" };
    expect(resolveSettings({ ...remote, flags }).ignored).toEqual([]);
  });
});

describe("remembered settings are parsed like the flags", () => {
  it("a relative Traefik file is refused, not resolved against wherever compose-roll runs", () => {
    const run = () => resolveSettings({ ...base, remembered: { traefikFile: "../../etc/x.yml" } });
    expect(run).toThrow(RefusedError);
    expect(run).toThrow(/^traefik-file \(last revision\): "..\/..\/etc\/x.yml" is not an absolute path/);
  });

  it("an empty Traefik file (a label-mode revision records none) is no path to refuse", () => {
    const { raw } = resolveSettings({ ...base, remembered: { traefikFile: "" } });
    expect(raw.traefikFile).toBe("");
  });

  it("a name that is no Docker name is refused, named as the last revision's", () => {
    const { raw, names } = resolveSettings({
      ...base,
      remembered: { traefikFile: "/t.yml", traefikService: "web\nx" },
    });
    expect(() => parseOptions("web", raw, "/", true, names)).toThrow(/^traefik-service \(last revision\)/);
  });
});

describe("the lock's replica count", () => {
  const svc = { project: "shop", service: "web" };
  const lock = {
    by: { user: "ci", host: "runner", pid: 42 },
    since: "2026-01-01T00:00:00.000Z",
    target: { ref: "app:v2", id: "sha256:2" },
    previous: { ref: "app:v1", id: "sha256:1" },
    revision: 3,
    replicas: 3,
    command: "compose-roll web --image app:v2",
  };

  it("is capped, so a tampered lock cannot make repair start thousands of containers", () => {
    const labels = { ...encodeLock(svc, lock), [LockLabel.replicas]: "100000" };
    const decoded = decodeLock(svc, labels);
    expect(decoded.ok && decoded.value.replicas).toBe(MAX_LOCK_REPLICAS);
    expect(MAX_LOCK_REPLICAS).toBe(64);
    const fine = decodeLock(svc, encodeLock(svc, lock));
    expect(fine.ok && fine.value.replicas).toBe(3);
  });
});
