import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { exitCodeFor, RefusedError } from "../controller/errors.js";
import { ensureImage, type PullMessage, type PullProgress, PullTracker, pullImage } from "./pull.js";
import { classifyPullError, pullPolicyOf } from "./pullPolicy.js";

// What Docker 20.10 and the distribution registry actually said (captured on this testbed).
const SAID = {
  wrongPassword: "unauthorized: authentication required",
  anonymous: 'Head "http://127.0.0.1:5599/v2/demo/app/manifests/v2": no basic auth credentials',
  unknownTag: "manifest for 127.0.0.1:5599/demo/app:nope not found: manifest unknown: manifest unknown",
  refused: 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
  noHost: 'Get "https://x.invalid:5000/v2/": dial tcp: lookup x.invalid on 10.0.0.53:53: no such host',
  hub: "pull access denied for nope/nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
  http: 'Get "https://10.0.0.5:5000/v2/": http: server gave HTTP response to HTTPS client',
};

describe("pull policies, in compose's words", () => {
  it("maps compose's pull_policy names onto missing, always, never", () => {
    expect(pullPolicyOf("missing", "--pull")).toEqual({ policy: "missing" });
    expect(pullPolicyOf("if_not_present", "--pull")).toEqual({ policy: "missing" });
    expect(pullPolicyOf("Always", "--pull")).toEqual({ policy: "always" });
    expect(pullPolicyOf("never", "--pull")).toEqual({ policy: "never" });
    for (const p of ["daily", "weekly", "every_12h", "every_1d", "every_2h30m"]) {
      const r = pullPolicyOf(p, "pull_policy:");
      expect(r.policy).toBe("missing");
      expect(r.note).toMatch(/keeps no record/);
    }
  });

  it("refuses build and nonsense with one line saying what to use", () => {
    expect(() => pullPolicyOf("build", "--pull")).toThrow(/does not build images/);
    for (const bad of ["", "sometimes", "every_", "every_soon"]) {
      expect(() => pullPolicyOf(bad, "--pull")).toThrow(RefusedError);
    }
  });
});

describe("classifyPullError", () => {
  it("sorts the daemon's messages into what the user can act on", () => {
    expect(classifyPullError(SAID.wrongPassword)).toBe("auth");
    expect(classifyPullError(SAID.anonymous)).toBe("auth");
    expect(classifyPullError(SAID.unknownTag)).toBe("not-found");
    expect(classifyPullError(SAID.hub)).toBe("not-found");
    expect(classifyPullError(SAID.refused)).toBe("unreachable");
    expect(classifyPullError(SAID.noHost)).toBe("unreachable");
    expect(classifyPullError(SAID.http)).toBe("unreachable");
    expect(classifyPullError("no space left on device")).toBe("other");
  });
});

describe("PullTracker", () => {
  it("counts layers done (pulled or already there) and downloaded bytes", () => {
    const t = new PullTracker();
    const lines: PullMessage[] = [
      { status: "Pulling from demo/app", id: "v2" },
      { status: "Already exists", id: "a" },
      { status: "Pulling fs layer", id: "b" },
      { status: "Downloading", id: "b", progressDetail: { current: 50, total: 200 } },
      { status: "Download complete", id: "b" },
      { status: "Extracting", id: "b", progressDetail: { current: 100, total: 200 } },
      { status: "Pull complete", id: "b" },
      { status: "Digest: sha256:abc" },
      { status: "Status: Downloaded newer image for r/demo/app:v2" },
    ];
    const cues = lines.map((l) => t.add(l));
    expect(cues.filter(Boolean)).toHaveLength(2);
    expect(t.progress("r")).toMatchObject({
      layers: { done: 2, total: 2 },
      bytes: { current: 200, total: 200 },
    });
    expect(t.final).toBe("Downloaded newer image for r/demo/app:v2");
    expect(t.error).toBeUndefined();
  });
});

/** A real dockerode whose pull and image inspect are answered from a script. */
function fakeDocker(opts: {
  local?: boolean;
  pull: () => Promise<NodeJS.ReadableStream>;
  afterPull?: boolean;
}): Docker & { pulls: number } {
  const docker = new Docker({ socketPath: "/nonexistent.sock" }) as Docker & { pulls: number };
  let present = opts.local ?? false;
  docker.pulls = 0;
  docker.pull = (async () => {
    docker.pulls++;
    const s = await opts.pull();
    present = present || (opts.afterPull ?? true);
    return s;
  }) as Docker["pull"];
  docker.getImage = (() => ({
    inspect: async () => {
      if (!present) throw Object.assign(new Error("no such image"), { statusCode: 404 });
      return { Id: "sha256:feed", Config: { ExposedPorts: { "8000/tcp": {} } } };
    },
  })) as unknown as Docker["getImage"];
  return docker;
}

function streamOf(lines: PullMessage[]): NodeJS.ReadableStream {
  const s = new PassThrough();
  setImmediate(() => s.end(lines.map((l) => `${JSON.stringify(l)}\r\n`).join("")));
  return s;
}

const noCreds = { credentials: { env: { DOCKER_CONFIG: mkdtempSync(join(tmpdir(), "cr-pull-")) } } };

describe("pullImage", () => {
  it("refuses with the ref and reason when the error comes inside the stream (HTTP 200)", async () => {
    const docker = fakeDocker({
      pull: async () =>
        streamOf([
          { status: "Pulling from demo/app", id: "v2" },
          { errorDetail: { message: SAID.wrongPassword }, error: SAID.wrongPassword },
        ]),
    });
    const err = await pullImage(docker, "127.0.0.1:5000/demo/app:v2", noCreds).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(
      /^cannot pull 127\.0\.0\.1:5000\/demo\/app:v2: 127\.0\.0\.1:5000 requires credentials and none were found in .*config\.json/,
    );
  });

  it("refuses with the ref and reason when the daemon answers 404 or 500", async () => {
    const http = (statusCode: number, message: string) => async () => {
      throw Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message}`), { statusCode });
    };
    const ref = "127.0.0.1:5000/demo/app:nope";
    await expect(pullImage(fakeDocker({ pull: http(404, SAID.unknownTag) }), ref, noCreds)).rejects.toThrow(
      /^cannot pull 127\.0\.0\.1:5000\/demo\/app:nope: no such tag or repository on 127\.0\.0\.1:5000/,
    );
    await expect(pullImage(fakeDocker({ pull: http(500, SAID.refused) }), ref, noCreds)).rejects.toThrow(
      /registry 127\.0\.0\.1:5000 is unreachable from the Docker host \(.*connection refused\)/,
    );
  });

  it("passes the config's credentials to the daemon and reports progress", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cr-pull-"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ auths: { "reg.example.com": { auth: Buffer.from("u:p").toString("base64") } } }),
    );
    const docker = fakeDocker({ pull: async () => streamOf([]) });
    let seen: unknown;
    docker.pull = (async (_ref: string, o: { authconfig?: unknown }) => {
      seen = o.authconfig;
      return streamOf([
        { status: "Pulling fs layer", id: "a" },
        { status: "Pull complete", id: "a" },
        { status: "Status: Image is up to date for reg.example.com/app:v1" },
      ]);
    }) as Docker["pull"];
    const events: PullProgress[] = [];
    const done = await pullImage(docker, "reg.example.com/app:v1", {
      credentials: { env: { DOCKER_CONFIG: dir } },
      onProgress: (p) => events.push(p),
    });
    expect(seen).toEqual({ serveraddress: "reg.example.com", username: "u", password: "p" });
    expect(done).toMatchObject({
      status: "pulled",
      detail: "Image is up to date",
      layers: { done: 1, total: 1 },
    });
    expect(events[0]).toEqual({
      ref: "reg.example.com/app:v1",
      status: "pulling",
      detail: "from reg.example.com",
    });
    expect(events.map((e) => e.layers?.done)).toEqual([undefined, 0, 1, 1]);
    expect(events.at(-1)?.status).toBe("pulled");
  });
});

describe("ensureImage", () => {
  const ok = async () => streamOf([{ status: "Status: Downloaded newer image for x" }]);

  it("missing: uses a present image without asking the registry, pulls an absent one", async () => {
    const present = fakeDocker({ local: true, pull: ok });
    const events: PullProgress[] = [];
    const img = await ensureImage(present, "app:v1", "missing", {
      ...noCreds,
      onProgress: (p) => events.push(p),
    });
    expect(img).toEqual({ ref: "app:v1", id: "sha256:feed", exposedPorts: [8000] });
    expect(present.pulls).toBe(0);
    expect(events).toEqual([expect.objectContaining({ status: "present" })]);
    const absent = fakeDocker({ pull: ok });
    await ensureImage(absent, "app:v1", "missing", noCreds);
    expect(absent.pulls).toBe(1);
  });

  it("refuses (exit 2) an image the daemon says it pulled but does not have: nothing changed yet", async () => {
    const ghost = fakeDocker({ pull: ok, afterPull: false });
    const err = await ensureImage(ghost, "app:v1", "missing", noCreds).catch((e: unknown) => e);
    expect(exitCodeFor(err)).toBe(2);
    expect((err as Error).message).toMatch(/reported app:v1 pulled, but it is not on the host/);
  });

  it("always: pulls even a present image; never: refuses an absent one without pulling", async () => {
    const present = fakeDocker({ local: true, pull: ok });
    await ensureImage(present, "app:v1", "always", noCreds);
    expect(present.pulls).toBe(1);
    const absent = fakeDocker({ pull: ok });
    await expect(ensureImage(absent, "app:v1", "never", noCreds)).rejects.toThrow(
      /^image app:v1 is not on the Docker host and --pull never forbids pulling it$/,
    );
    expect(absent.pulls).toBe(0);
  });

  it("never pulls an image ID; refuses an absent one", async () => {
    const absent = fakeDocker({ pull: ok });
    await expect(ensureImage(absent, `sha256:${"a".repeat(64)}`, "always", noCreds)).rejects.toThrow(
      /an image ID cannot be pulled/,
    );
    expect(absent.pulls).toBe(0);
  });

  it("fails loudly when the daemon says pulled but the image is not there", async () => {
    const liar = fakeDocker({ pull: ok, afterPull: false });
    await expect(ensureImage(liar, "app:v1", "missing", noCreds)).rejects.toThrow(/not on the host/);
  });
});
