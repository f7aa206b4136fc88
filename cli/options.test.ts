import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { parseOptions, traefikFileOf } from "./options.js";
import { checkImageRef, hookArgv, parseArgv, parseDuration } from "./parsers.js";

it("parses durations as users write them, refusing the rest", () => {
  expect(parseDuration("90s", "x")).toBe(90_000);
  expect(parseDuration("1m30s", "x")).toBe(90_000);
  expect(parseDuration("500ms", "x")).toBe(500);
  expect(parseDuration("2", "x")).toBe(2000);
  for (const bad of ["", "10 s", "1d", "s", "-1s", "1m30"]) {
    expect(() => parseDuration(bad, "--drain")).toThrow(RefusedError);
  }
});

it("accepts image references and IDs, refusing malformed ones", () => {
  for (const ok of [
    "app:2026-04-24",
    "registry:5000/team/app:v2",
    "app@sha256:" + "a".repeat(64),
    "sha256:abcdef012345",
  ]) {
    expect(checkImageRef(ok)).toBe(ok);
  }
  for (const bad of ["App:v1", "app:", "app::v1", "app v1"])
    expect(() => checkImageRef(bad)).toThrow(RefusedError);
});

it("refuses bad input before anything runs, saying what to do", () => {
  const base = { traefikFile: "dynamic/web.yml" };
  expect(() => parseOptions("web", {}, "/srv")).toThrow(/--traefik-file is required/);
  expect(() => parseOptions("web", { traefikFile: "web.json" }, "/srv")).toThrow(/must end in .yml/);
  expect(() => parseOptions("web", { ...base, maxSurge: "0" }, "/srv")).toThrow(/from 1 to 100/);
  expect(() => parseOptions("web", { ...base, traefikApi: "ftp://x" }, "/srv")).toThrow(/not an http/);
  expect(() => parseOptions("-web", base, "/srv")).toThrow(/not a valid compose service name/);
  expect(() => parseOptions("web", { ...base, lockLease: "5s" }, "/srv")).toThrow(
    /--lock-lease: "5s" is (shorter than 10s|too short)/,
  );
  expect(parseOptions("web", base, "/srv").lockLeaseMs).toBe(60_000);
  const o = parseOptions("web", { ...base, port: "9000", drain: "5s" }, "/srv");
  expect(o).toMatchObject({
    traefikFile: "/srv/dynamic/web.yml",
    port: 9000,
    drainMs: 5000,
    traefikService: "web",
  });
  // history and lock never touch Traefik: no file needed.
  expect(parseOptions("web", {}, "/srv", false).traefikFile).toBe("");
});

it("takes --check-host as a host name with an optional port from 1 to 65535, nothing else", () => {
  const base = { traefikFile: "web.yml" };
  for (const ok of ["shop.example.com", "localhost:8000", "10.0.0.1", "[::1]:443", "a-b.c"])
    expect(parseOptions("web", { ...base, checkHost: ok }, "/srv").checkHost).toBe(ok);
  for (const bad of [
    "a b",
    "shop:0",
    "shop:99999",
    "shop..com",
    ".shop",
    "shop.",
    "-shop",
    "shop\r\nX: 1",
    "",
  ])
    expect(() => parseOptions("web", { ...base, checkHost: bad }, "/srv")).toThrow(
      /^--check-host: .* is not a host name$/,
    );
});

it("says why a hook list is not a command", () => {
  expect(hookArgv(["python3", "manage.py", "migrate"], "--pre-deploy")).toEqual([
    "python3",
    "manage.py",
    "migrate",
  ]);
  expect(() => hookArgv([], "x")).toThrow("x: [] is not a command: the list is empty");
  expect(() => hookArgv(["", "migrate"], "x")).toThrow(
    'x: ["","migrate"] is not a command: its program (the first word) is empty',
  );
  expect(() => hookArgv(["a", 1 as unknown as string], "x")).toThrow(/holds something other than a string$/);
  expect(() => hookArgv(["a", "b\u0000"], "x")).toThrow(/holds a NUL character$/);
});

it("takes whole numbers only as digits, not as anything Number() would read", () => {
  const base = { traefikFile: "web.yml" };
  for (const bad of ["0x10", "1e2", " ", "", "1.0", "+3"]) {
    expect(() => parseOptions("web", { ...base, port: bad }, "/srv")).toThrow(/--port: .* whole number/);
  }
  expect(parseOptions("web", { ...base, maxSurge: " 2 " }, "/srv").maxSurge).toBe(2);
});

it("defaults write on and dry run off", () => {
  const base = { traefikFile: "web.yml" };
  expect(parseOptions("web", base, "/srv")).toMatchObject({ write: true, dryRun: false });
  expect(parseOptions("web", { ...base, pull: "never", write: false, dryRun: true }, "/srv")).toMatchObject({
    pull: "never",
    write: false,
    dryRun: true,
  });
});

it("names a refused value by where it came from, when told", () => {
  const raw = { traefikFile: "web.yml", drain: "soon" };
  expect(() => parseOptions("web", raw, "/srv")).toThrow(/^--drain: "soon" is not a duration/);
  expect(() => parseOptions("web", raw, "/srv", true, { drain: "COMPOSE_ROLL_DRAIN" })).toThrow(
    /^COMPOSE_ROLL_DRAIN: "soon" is not a duration/,
  );
});

it("takes --pull in compose's pull_policy words, leaving it unset when not given", () => {
  const base = { traefikFile: "dynamic/web.yml" };
  expect(parseOptions("web", base, "/srv").pull).toBeUndefined();
  expect(parseOptions("web", { ...base, pull: "always" }, "/srv").pull).toBe("always");
  expect(parseOptions("web", { ...base, pull: "if_not_present" }, "/srv").pull).toBe("missing");
  expect(parseOptions("web", { ...base, pull: "daily" }, "/srv").pull).toBe("missing");
  expect(() => parseOptions("web", { ...base, pull: "build" }, "/srv")).toThrow(/does not build images/);
  expect(() => parseOptions("web", { ...base, pull: "sometimes" }, "/srv")).toThrow(/not a pull policy/);
});

it("takes a directory as --traefik-file: the Traefik service's own file in it", () => {
  const dir = mkdtempSync(join(tmpdir(), "cr-opts-"));
  expect(traefikFileOf(dir, "web", "/srv")).toBe(join(dir, "web.yml"));
  expect(traefikFileOf("dynamic/", "api", "/srv")).toBe("/srv/dynamic/api.yml");
  expect(traefikFileOf("dynamic/web.yml", "web", "/srv")).toBe("/srv/dynamic/web.yml");
  expect(parseOptions("web", { traefikFile: dir, traefikService: "front" }, "/srv").traefikFile).toBe(
    join(dir, "front.yml"),
  );
});

describe("label mode options", () => {
  const base = { traefikFile: "web.yml" };
  it("drain file defaults to /tmp/drain and must be absolute", () => {
    expect(parseOptions("web", base, "/srv")).toMatchObject({
      drainFile: "/tmp/drain",
      allowUnsafeDrain: false,
    });
    expect(() => parseOptions("web", { ...base, drainFile: "tmp/drain" }, "/srv")).toThrow(/absolute path/);
  });
  it("drain command: words or a JSON array, never an empty one", () => {
    expect(parseArgv("touch /tmp/maint", "--drain-command")).toEqual(["touch", "/tmp/maint"]);
    expect(parseArgv('["sh","-c","touch /a && sleep 1"]', "--drain-command")).toEqual([
      "sh",
      "-c",
      "touch /a && sleep 1",
    ]);
    expect(() => parseArgv("  ", "--drain-command")).toThrow(/is not a command/);
    expect(() => parseArgv("[1]", "--drain-command")).toThrow(/is not a command/);
    expect(() => parseArgv("[oops", "--drain-command")).toThrow(/is not a command/);
    expect(parseOptions("web", { ...base, drainCommand: "a b" }, "/srv").drainCommand).toEqual(["a", "b"]);
  });
});

describe("bake options", () => {
  const base = { traefikFile: "dynamic/web.yml" };

  it("parses them as users write them, with the defaults the noise on the demo set", () => {
    const o = parseOptions("web", { ...base, bake: "30s", canary: "10", maxP99: "800ms" }, "/srv");
    expect(o).toMatchObject({
      bakeMs: 30_000,
      canary: 10,
      maxP99Ms: 800,
      maxErrorRate: 2,
      maxLatencyRatio: 3,
      minRequests: 50,
    });
    expect(parseOptions("web", base, "/srv").bakeMs).toBeUndefined();
  });

  it("refuses what cannot be a share, a margin or a ratio, before anything runs", () => {
    expect(() => parseOptions("web", { ...base, canary: "0" }, "/srv")).toThrow(
      /--canary: "0" must be a number from 1 to 99/,
    );
    expect(() => parseOptions("web", { ...base, canary: "100" }, "/srv")).toThrow(RefusedError);
    expect(() => parseOptions("web", { ...base, maxErrorRate: "-1" }, "/srv")).toThrow(RefusedError);
    expect(() => parseOptions("web", { ...base, maxLatencyRatio: "0.5" }, "/srv")).toThrow(/from 1 to 1000/);
    expect(() => parseOptions("web", { ...base, bake: "soon" }, "/srv")).toThrow(/not a duration/);
  });
});

describe("the bake's settings", () => {
  const base = { traefikFile: "dynamic/web.yml" };

  it("take compose's deploy.update_config.monitor when --bake is not given, and --bake 0s turns it off", async () => {
    const { rolloutOptions } = await import("./app-context.js");
    const opts = (raw: Record<string, string>) => parseOptions("web", { ...base, ...raw }, "/srv");
    expect(rolloutOptions(opts({}), undefined, {}, "1m30s").bake?.bakeMs).toBe(90_000);
    expect(rolloutOptions(opts({}), undefined, {}, 20e9).bake?.bakeMs).toBe(20_000);
    expect(rolloutOptions(opts({ bake: "10s" }), undefined, {}, "1m").bake?.bakeMs).toBe(10_000);
    expect(rolloutOptions(opts({ bake: "0s" }), undefined, {}, "1m").bake).toBeUndefined();
    expect(rolloutOptions(opts({}), undefined, {}, undefined).bake).toBeUndefined();
  });
});
