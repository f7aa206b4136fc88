import { describe, expect, it } from "vitest";
import { actor, ciJob } from "./actor.js";

const fixed = { hostname: () => "runner-7", username: () => "passwd-user", pid: 99 };

describe("actor", () => {
  it("takes USER first, then the passwd entry", () => {
    expect(actor({ ...fixed, env: { USER: "alice" } })).toEqual({ user: "alice", host: "runner-7", pid: 99 });
    expect(actor({ ...fixed, env: {} }).user).toBe("passwd-user");
  });

  it("survives a uid without a passwd entry", () => {
    const noPasswd = () => {
      throw new Error("ENOENT: no such file or directory, uv_os_get_passwd");
    };
    expect(actor({ ...fixed, env: {}, username: noPasswd }).user).toMatch(/^(uid \d+|unknown)$/);
  });

  it("names the CI job when there is one, and omits the field otherwise", () => {
    expect(actor({ ...fixed, env: { USER: "ci", CI_JOB_URL: "https://gitlab/j/1" } }).ciJob).toBe(
      "https://gitlab/j/1",
    );
    expect("ciJob" in actor({ ...fixed, env: { USER: "ci" } })).toBe(false);
  });

  it("defaults to this process", () => {
    const me = actor();
    expect(me.pid).toBe(process.pid);
    expect(me.host.length).toBeGreaterThan(0);
  });
});

describe("ciJob", () => {
  it("builds github:<repo>#<run> from GitHub Actions' variables", () => {
    expect(ciJob({ GITHUB_RUN_ID: "8812", GITHUB_REPOSITORY: "acme/shop", BUILD_URL: "x" })).toBe(
      "github:acme/shop#8812",
    );
  });

  it("needs both GitHub variables", () => {
    expect(ciJob({ GITHUB_RUN_ID: "8812" })).toBeUndefined();
    expect(ciJob({ GITHUB_RUN_ID: "8812", BUILD_URL: "https://jenkins/job/9/" })).toBe(
      "https://jenkins/job/9/",
    );
  });

  it.each([
    ["CI_JOB_URL", "https://gitlab.example/acme/shop/-/jobs/5"],
    ["BUILD_URL", "https://jenkins.example/job/shop/9/"],
    ["CIRCLE_BUILD_URL", "https://circleci.com/gh/acme/shop/77"],
    ["BUILDKITE_BUILD_URL", "https://buildkite.com/acme/shop/builds/3"],
  ])("takes %s", (key, url) => {
    expect(ciJob({ [key]: url })).toBe(url);
  });

  it("prefers the earlier system and ignores empty values", () => {
    expect(ciJob({ CI_JOB_URL: "gitlab", BUILD_URL: "jenkins" })).toBe("gitlab");
    expect(ciJob({ CI_JOB_URL: "", BUILD_URL: "jenkins" })).toBe("jenkins");
    expect(ciJob({})).toBeUndefined();
  });
});
