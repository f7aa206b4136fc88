// engine/dockerode.ts keeps dockerode's build-only and ssh dependencies out of every start,
// and a call that would need one fails with the stand-in's message, not silently.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import Docker from "./dockerode.js";

const require = createRequire(import.meta.url);
const fromDockerode = createRequire(require.resolve("dockerode"));

describe("dockerode as compose-roll loads it", () => {
  it("loads without tar-stream (tar-fs's), and still makes a client", () => {
    expect(Object.keys(require.cache).filter((k) => /node_modules\/tar-stream\//.test(k))).toEqual([]);
    expect(typeof new Docker({ socketPath: "/nonexistent" }).listContainers).toBe("function");
  });

  it("gives dockerode stand-ins that name what compose-roll does not load", () => {
    expect(() => fromDockerode("tar-fs").pack("/tmp")).toThrow(/does not load image build contexts/);
    expect(() => fromDockerode("@grpc/proto-loader").loadSync("x")).toThrow(/BuildKit sessions/);
    const fromModem = createRequire(fromDockerode.resolve("docker-modem"));
    expect(() => fromModem("./ssh")()).toThrow(/docker-modem's ssh transport/);
  });
});
