import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeDrift, type ImageDefaults, type RunningConfig } from "./describe.js";

const image: ImageDefaults = {
  env: ["PATH=/usr/bin", "LANG=C.UTF-8"],
  cmd: ["gunicorn", "demo.wsgi"],
  labels: { "org.opencontainers.image.version": "1" },
};
const running: RunningConfig = {
  image: "app:v1",
  imageId: "sha256:aaaaaaaaaaaaaaaa",
  env: ["PATH=/usr/bin", "LANG=C.UTF-8", "DEBUG=0", "SECRET=hunter2"],
  cmd: ["gunicorn", "demo.wsgi"],
  labels: {
    "org.opencontainers.image.version": "1",
    "com.docker.compose.config-hash": "abc",
    "traefik.enable": "true",
  },
};
const same = {
  image: "app:v1",
  environment: { DEBUG: "0", SECRET: "hunter2" },
  labels: { "traefik.enable": "true" },
};

describe("describeDrift", () => {
  it("names changed, added and removed environment variables, never their values", () => {
    const out = describeDrift(
      { ...same, environment: { DEBUG: "1", NEW: "x", SECRET: "hunter2" } },
      { ...running, env: [...running.env, "GONE=1"] },
      image,
    );
    expect(out).toEqual(["environment: DEBUG changed; NEW added; GONE removed"]);
    expect(out.join(" ")).not.toMatch(/hunter2|=1|x\b/);
  });

  it("an env_file value, merged by compose into environment, shows as that variable", () => {
    // compose config resolves env_file into `environment`: an edited .env file is a changed key.
    expect(
      describeDrift({ ...same, environment: { DEBUG: "0", SECRET: "rotated" } }, running, image),
    ).toEqual(["environment: SECRET changed"]);
  });

  it("leaves alone what the image sets and the service does not (PATH), and compose's own labels", () => {
    expect(describeDrift(same, running, image)).toEqual([
      "other configuration (volumes, networks, healthcheck or another setting)",
    ]);
  });

  it("names an image, a command and labels", () => {
    expect(
      describeDrift(
        { ...same, image: "app:v2", command: ["celery", "worker"], labels: { "traefik.enable": "false" } },
        running,
        image,
      ),
    ).toEqual(["image app:v1 → app:v2", "command", "labels: traefik.enable changed"]);
  });

  it("a command back to the image's default when the files drop theirs", () => {
    expect(describeDrift(same, { ...running, cmd: ["celery", "worker"] }, image)).toEqual(["command"]);
  });

  it("the same tag rebuilt: the image by its IDs", () => {
    expect(describeDrift({ ...same, imageId: "sha256:bbbbbbbbbbbbbbbb" }, running, image)).toEqual([
      "image app:v1 (rebuilt or pulled since: aaaaaaaaaaaa → bbbbbbbbbbbb)",
    ]);
  });

  it("finds any single changed variable among many, and only that one", () => {
    const key = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,10}$/);
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 20 }), fc.nat(), (keys, pick) => {
        const env = Object.fromEntries(keys.map((k) => [k, "v"]));
        const target = keys[pick % keys.length] as string;
        const out = describeDrift(
          { environment: { ...env, [target]: "w" } },
          { image: "i", env: keys.map((k) => `${k}=v`), cmd: null, labels: {} },
        );
        expect(out).toEqual([`environment: ${target} changed`]);
      }),
    );
  });
});
