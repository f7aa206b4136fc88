import { describe, expect, it } from "vitest";
import { EngineError } from "../controller/errors.js";
import { compareApi, dockerMessage, engineError, negotiate } from "./docker.js";

describe("negotiate", () => {
  it("takes the server's version when it is older than ours (Docker 20.10)", () => {
    expect(negotiate({ ApiVersion: "1.41", MinAPIVersion: "1.12" })).toBe("1.41");
  });

  it("caps at ours when the server is newer (Docker 29 accepts 1.44+)", () => {
    expect(negotiate({ ApiVersion: "1.52", MinAPIVersion: "1.44" })).toBe("1.47");
  });

  it("refuses engines older than 20.10 and engines that dropped our version", () => {
    expect(() => negotiate({ ApiVersion: "1.40" })).toThrow(EngineError);
    expect(() => negotiate({ ApiVersion: "1.60", MinAPIVersion: "1.50" })).toThrow(
      /upgrade compose-roll|1\.50/,
    );
  });

  it("compares versions numerically", () => {
    expect(compareApi("1.9", "1.10")).toBeLessThan(0);
    expect(compareApi("1.44", "1.44")).toBe(0);
  });
});

describe("engineError", () => {
  it("keeps the daemon's message on one line, with a hint", () => {
    const err = Object.assign(new Error("(HTTP code 409) unexpected - Conflict. The name is in use\n"), {
      statusCode: 409,
      json: { message: 'Conflict. The container name "/demo-web-4" is already in use' },
    });
    const e = engineError(err, "create container demo-web-4");
    expect(e).toBeInstanceOf(EngineError);
    expect(e.message).toBe(
      'Docker: could not create container demo-web-4: Conflict. The container name "/demo-web-4" is already in use',
    );
    expect(e.hint).toMatch(/docker ps -a/);
  });

  it("tells the user to start Docker when the socket is missing", () => {
    const err = Object.assign(new Error("connect ENOENT /var/run/docker.sock"), { code: "ENOENT" });
    expect(engineError(err, "reach the Docker engine").hint).toMatch(/start Docker|DOCKER_HOST/);
    expect(dockerMessage(err)).toBe("connect ENOENT /var/run/docker.sock");
  });
});
