import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { parseOptions } from "./options.js";
import {
  envNameOf,
  explicitFlags,
  rawKeyOf,
  resolveSettings,
  SETTING_KEYS,
  type SettingsInput,
  suggest,
} from "./settings.js";

const FILE = "/srv/shop/compose.yaml";
const base: SettingsInput = { flags: {}, env: {}, file: FILE, projectDir: "/srv/shop", serviceName: "web" };

function refusal(input: Partial<SettingsInput>): RefusedError {
  try {
    resolveSettings({ ...base, ...input });
  } catch (err) {
    if (err instanceof RefusedError) return err;
    throw err;
  }
  throw new Error("not refused");
}

describe("precedence", () => {
  // Every layer sets drain and traefik-api (remembered); peeling the top one off each time
  // must hand the value to the next one down.
  const all: SettingsInput = {
    ...base,
    flags: { drain: "1s", traefikApi: "http://flag:8080" },
    env: { COMPOSE_ROLL_DRAIN: "2s", COMPOSE_ROLL_TRAEFIK_API: "http://env:8080" },
    service: { drain: "3s", "traefik-api": "http://service:8080" },
    project: { drain: 4, "traefik-api": "http://project:8080" },
    remembered: { traefikApi: "http://last:8080/", drain: "9s" },
  };
  const cases: [string, Partial<SettingsInput>, string, string, string][] = [
    ["flags", {}, "1s", "http://flag:8080", "--drain"],
    ["environment", { flags: {} }, "2s", "http://env:8080", "COMPOSE_ROLL_DRAIN"],
    [
      "service block",
      { flags: {}, env: {} },
      "3s",
      "http://service:8080",
      `x-compose-roll (service web, ${FILE})`,
    ],
    [
      "project block",
      { flags: {}, env: {}, service: undefined },
      "4",
      "http://project:8080",
      `x-compose-roll (${FILE})`,
    ],
  ];
  it.each(cases)("%s win over everything below", (_, peel, drain, api, source) => {
    const { raw, sources } = resolveSettings({ ...all, ...peel });
    expect(raw.drain).toBe(drain);
    expect(raw.traefikApi).toBe(api);
    expect(sources.drain).toBe(source);
  });

  it("falls back to the last revision, then to the defaults", () => {
    const { raw, sources } = resolveSettings({ ...all, flags: {}, env: {}, service: undefined, project: {} });
    expect(raw.traefikApi).toBe("http://last:8080/");
    expect(sources["traefik-api"]).toBe("last revision");
    // Only routing is remembered: a drain in the record is not a setting to inherit.
    expect(raw.drain).toBeUndefined();
    expect(sources.drain).toBe("default");
    expect(sources.port).toBe("default");
    expect(sources["pre-deploy"]).toBe("default");
  });

  it("keeps flags that are not settings, and names --no-write", () => {
    const { raw, sources } = resolveSettings({
      ...base,
      flags: { image: "app:v2", json: true, file: ["a.yml"], write: false },
      project: { write: true },
    });
    expect(raw).toMatchObject({ image: "app:v2", json: true, file: ["a.yml"], write: false });
    expect(sources.write).toBe("--no-write");
    expect(resolveSettings({ ...base, project: { write: false } }).raw.write).toBe(false);
  });

  it("lets a project set up in its compose file roll with --image alone", () => {
    const project = { "traefik-file": "dynamic/web.yml", "traefik-api": "http://traefik:8080", drain: "5s" };
    const service = { port: 8000, "max-surge": "2", pull: "never", "health-timeout": 90 };
    const { raw, names } = resolveSettings({ ...base, flags: { image: "app:v2" }, project, service });
    const opts = parseOptions("web", raw, "/somewhere/else", true, names);
    expect(opts).toMatchObject({
      traefikFile: "/srv/shop/dynamic/web.yml",
      port: 8000,
      maxSurge: 2,
      pull: "never",
      drainMs: 5000,
      healthTimeoutMs: 90_000,
      image: "app:v2",
    });
    expect(opts.traefikApi.href).toBe("http://traefik:8080/");
  });

  it("maps every setting to an option parseOptions reads", () => {
    const sample: Record<string, unknown> = {
      "traefik-api": "http://t:1",
      "traefik-url": "http://t:2",
      "traefik-file": "/t.yml",
      "traefik-service": "s",
      port: 1,
      network: "n",
      "probe-path": "/p",
      "lock-lease": "90s",
      pull: "always",
      write: false,
      "pre-deploy": "x",
      "post-deploy": ["y"],
      "migration-gate": "warn",
      "allow-breaking": true,
      warmup: "/warm",
      smoke: ["/=ok"],
      policy: "singleton",
    };
    const block = Object.fromEntries(SETTING_KEYS.map((k) => [k, sample[k] ?? "7"]));
    const { raw, sources } = resolveSettings({ ...base, project: block });
    for (const key of SETTING_KEYS) {
      const field = rawKeyOf(key);
      expect(raw[field as keyof typeof raw], key).toBeDefined();
      expect(sources[key]).toBe(`x-compose-roll (${FILE})`);
    }
  });
});

describe("paths", () => {
  it("resolves a compose block's traefik-file against the project directory, not the cwd", () => {
    const project = { "traefik-file": "dynamic/web.yml" };
    expect(resolveSettings({ ...base, project }).raw.traefikFile).toBe("/srv/shop/dynamic/web.yml");
    const service = { "traefik-file": "../edge/web.yml" };
    expect(resolveSettings({ ...base, service }).raw.traefikFile).toBe("/srv/edge/web.yml");
    // Without an explicit project directory, the compose file's own.
    const noDir = { ...base, projectDir: undefined, file: "/opt/app/compose.yml", project };
    expect(resolveSettings(noDir).raw.traefikFile).toBe("/opt/app/dynamic/web.yml");
    expect(resolveSettings({ ...base, project: { "traefik-file": "/abs/web.yml" } }).raw.traefikFile).toBe(
      "/abs/web.yml",
    );
  });

  it("leaves flag and environment paths to resolve against the cwd, as before", () => {
    const fromFlag = resolveSettings({ ...base, flags: { traefikFile: "web.yml" } }).raw;
    expect(fromFlag.traefikFile).toBe("web.yml");
    expect(parseOptions("web", fromFlag, "/cwd").traefikFile).toBe("/cwd/web.yml");
    const fromEnv = resolveSettings({ ...base, env: { COMPOSE_ROLL_TRAEFIK_FILE: "d/web.yml" } }).raw;
    expect(parseOptions("web", fromEnv, "/cwd").traefikFile).toBe("/cwd/d/web.yml");
  });

  it("refuses a relative path when no project directory is known", () => {
    const err = refusal({ projectDir: undefined, file: undefined, project: { "traefik-file": "web.yml" } });
    expect(err.message).toBe(
      "top-level x-compose-roll.traefik-file: web.yml is relative, but no compose project directory is known",
    );
  });
});

describe("refusals name the key, the block and the file", () => {
  it("a value of the wrong type", () => {
    expect(refusal({ service: { drain: true } }).message).toBe(
      `x-compose-roll.drain of service web (${FILE}): expected a duration like "90s" or "2m", or a number of seconds, got true`,
    );
    expect(refusal({ project: { port: [80] } }).message).toBe(
      `top-level x-compose-roll.port (${FILE}): expected a whole number, got a list`,
    );
    expect(refusal({ project: { write: "no" } }).message).toMatch(
      /x-compose-roll.write .*true or false, got "no"/,
    );
    expect(refusal({ project: { pull: "sometimes" } }).message).toMatch(
      /x-compose-roll.pull .*one of missing, always, never, got "sometimes"/,
    );
    expect(refusal({ project: { network: "" } }).message).toMatch(/network .*must not be empty/);
    expect(refusal({ project: { drain: null } }).message).toMatch(/drain .*got nothing$/);
    expect(refusal({ project: { "pre-deploy": [1] } }).message).toMatch(/pre-deploy .*a list of words/);
    expect(refusal({ project: { "pre-deploy": "migrate && collectstatic" } }).message).toMatch(
      /x-compose-roll.pre-deploy .* runs without a shell/,
    );
    // Inside a list: the item is named, not "a list".
    expect(refusal({ service: { smoke: ["/=v2", ""] } }).message).toBe(
      `x-compose-roll.smoke of service web (${FILE}): item 2 of the list must not be empty, got ""`,
    );
    expect(refusal({ service: { smoke: {} } }).message).toMatch(
      /smoke .*a string or a list of strings, got a mapping$/,
    );
    expect(refusal({ project: { "migration-gate": "maybe" } }).message).toMatch(
      /migration-gate .*one of off, warn, refuse, got "maybe"/,
    );
  });

  it("a block that is not a mapping", () => {
    const err = refusal({ service: ["drain: 5s"] });
    expect(err.message).toBe(
      `x-compose-roll of service web (${FILE}) must be a mapping of settings, got a list`,
    );
    expect(refusal({ project: "drain=5s" }).message).toMatch(/^top-level x-compose-roll .* got "drain=5s"/);
  });

  it("an unknown key, with the key it most likely meant", () => {
    const err = refusal({ service: { drian: "5s" } });
    expect(err.message).toBe(`x-compose-roll of service web (${FILE}): unknown key "drian"`);
    expect(err.hint).toBe('did you mean "drain"?');
    expect(refusal({ project: { traefikFile: "a.yml" } }).hint).toBe('did you mean "traefik-file"?');
    expect(refusal({ project: { health_timeout: "1m" } }).hint).toBe('did you mean "health-timeout"?');
    expect(refusal({ project: { image: "app:v2" } }).hint).toMatch(/^known keys: traefik-api, /);
  });

  it("a bad value, in parseOptions' words but named by its block", () => {
    expect(refusal({ project: { drain: "soon" } }).message).toBe(
      `top-level x-compose-roll.drain (${FILE}): "soon" is not a duration`,
    );
    expect(refusal({ service: { "max-surge": 0 } }).message).toMatch(
      /^x-compose-roll.max-surge of service web .*: "0" must be a whole number from 1 to 100/,
    );
    expect(refusal({ project: { "traefik-api": "traefik:8080" } }).message).toMatch(
      /traefik-api .*not an http/,
    );
    expect(refusal({ project: { "traefik-file": "web.json" } }).message).toBe(
      `top-level x-compose-roll.traefik-file (${FILE}): /srv/shop/web.json must end in .yml or .yaml (Traefik reads no other)`,
    );
    expect(refusal({ project: { "probe-path": "health" } }).message).toMatch(
      /probe-path .* "health" is not a URL path/,
    );
  });

  it("the file that declares the block, when compose merged several", () => {
    const OVERRIDE = "/srv/shop/compose.override.yaml";
    const blockFiles = { service: OVERRIDE };
    expect(refusal({ blockFiles, service: { drain: "soon" } }).message).toBe(
      `x-compose-roll.drain of service web (${OVERRIDE}): "soon" is not a duration`,
    );
    expect(refusal({ blockFiles, service: { drian: "5s" } }).message).toBe(
      `x-compose-roll of service web (${OVERRIDE}): unknown key "drian"`,
    );
    expect(refusal({ blockFiles, project: { drain: "soon" } }).message).toBe(
      `top-level x-compose-roll.drain (${FILE}): "soon" is not a duration`,
    );
    expect(refusal({ blockFiles: { project: OVERRIDE }, project: ["drain: 5s"] }).message).toBe(
      `top-level x-compose-roll (${OVERRIDE}) must be a mapping of settings, got a list`,
    );
    const { sources } = resolveSettings({ ...base, blockFiles, service: { drain: "5s" } });
    expect(sources.drain).toBe(`x-compose-roll (service web, ${OVERRIDE})`);
  });

  it("a bad value even when a higher layer overrides it: the file is wrong either way", () => {
    expect(refusal({ flags: { drain: "1s" }, project: { drain: "soon" } }).message).toMatch(/drain .*soon/);
  });

  it("a refused remembered value is named as the last revision's", () => {
    const { raw, names } = resolveSettings({
      ...base,
      remembered: { traefikFile: "/t.yml", traefikApi: "ftp://x" },
    });
    expect(() => parseOptions("web", raw, "/", true, names)).toThrow(
      /^traefik-api \(last revision\): "ftp:\/\/x" is not an http/,
    );
  });
});

describe("COMPOSE_ROLL_<KEY> variables", () => {
  it("are named after the keys and validated like the blocks, naming the variable", () => {
    expect(envNameOf("traefik-api")).toBe("COMPOSE_ROLL_TRAEFIK_API");
    expect(envNameOf("lock-stale-after")).toBe("COMPOSE_ROLL_LOCK_STALE_AFTER");
    expect(refusal({ env: { COMPOSE_ROLL_DRAIN: "soon" } }).message).toBe(
      'COMPOSE_ROLL_DRAIN: "soon" is not a duration',
    );
    expect(refusal({ env: { COMPOSE_ROLL_PULL: "often" } }).message).toBe(
      'COMPOSE_ROLL_PULL: expected one of missing, always, never, got "often"',
    );
    expect(refusal({ env: { COMPOSE_ROLL_PORT: "http" } }).message).toMatch(
      /^COMPOSE_ROLL_PORT: "http" must be/,
    );
  });

  it("read write as a boolean", () => {
    expect(resolveSettings({ ...base, env: { COMPOSE_ROLL_WRITE: "false" } }).raw.write).toBe(false);
    expect(resolveSettings({ ...base, env: { COMPOSE_ROLL_WRITE: "1" } }).raw.write).toBe(true);
    expect(refusal({ env: { COMPOSE_ROLL_WRITE: "maybe" } }).message).toBe(
      'COMPOSE_ROLL_WRITE: "maybe" must be true or false',
    );
  });

  it("count as unset when empty", () => {
    const { sources } = resolveSettings({
      ...base,
      env: { COMPOSE_ROLL_DRAIN: "" },
      project: { drain: "4s" },
    });
    expect(sources.drain).toBe(`x-compose-roll (${FILE})`);
  });

  it("refuse a near miss, and leave variables that are not ours alone", () => {
    const err = refusal({ env: { COMPOSE_ROLL_DRIAN: "5s" } });
    expect(err.message).toBe("environment variable COMPOSE_ROLL_DRIAN is not a compose-roll setting");
    expect(err.hint).toBe("did you mean COMPOSE_ROLL_DRAIN? otherwise unset it");
    expect(refusal({ env: { COMPOSE_ROLL_TRAEFIKFILE: "a.yml" } }).hint).toMatch(/COMPOSE_ROLL_TRAEFIK_FILE/);
    const env = {
      COMPOSE_ROLL_VERSION: "0.1.0",
      COMPOSE_ROLL_TEST_KILL_AT_STEP: "3",
      COMPOSE_ROLL_HOME: "/x",
    };
    expect(resolveSettings({ ...base, env }).raw).toEqual({});
  });
});

describe("explicitFlags", () => {
  it("drops what commander filled in from declared defaults, so lower layers show through", () => {
    const cmd = new Command()
      .exitOverride()
      .option("--drain <d>", "drain", "3s")
      .option("--port <n>")
      .option("--no-write")
      .option("-f, --file <path>", "files", (v: string, p: string[]) => [...p, v], []);
    cmd.parse(["--port", "80"], { from: "user" });
    const flags = explicitFlags(cmd.opts(), (k) => cmd.getOptionValueSource(k));
    expect(flags).toEqual({ port: "80" });
    const { raw, sources } = resolveSettings({ ...base, flags, project: { drain: "5s", write: false } });
    expect(raw).toMatchObject({ port: "80", drain: "5s", write: false });
    expect(sources).toMatchObject({ port: "--port", drain: `x-compose-roll (${FILE})` });
  });
});

describe("suggest", () => {
  it("finds a key one or two slips away, ignoring case and separators", () => {
    expect(suggest("prot", SETTING_KEYS)).toBe("port");
    expect(suggest("MAX_SURGE", SETTING_KEYS)).toBe("max-surge");
    expect(suggest("drainn", SETTING_KEYS)).toBe("drain");
    expect(suggest("timeout", SETTING_KEYS)).toBeUndefined();
    expect(suggest("VERSION", SETTING_KEYS)).toBeUndefined();
  });
});
