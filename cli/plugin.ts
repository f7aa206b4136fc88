// compose-roll as a Docker CLI plugin: `docker roll web --image app:v2`. The docker CLI runs
// `docker-roll docker-cli-plugin-metadata` to list it, and `docker-roll [docker's global flags]
// roll <args>` to run it: its own flags (--context, -H, --config, --tlsverify) come first and
// must mean what they mean to docker, so they are turned into the environment the docker CLI
// would have acted on, and the plugin name is dropped.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RefusedError } from "../controller/errors.js";
import { configDir } from "../host/contexts.js";

export const PLUGIN_NAME = "roll";
/** Set by the shim `install-plugin` writes: this process was started by the docker CLI. */
export const PLUGIN_ENV = "COMPOSE_ROLL_DOCKER_PLUGIN";

/** compose-roll's version, from the package.json above this file (dist/cli/ or cli/). */
export function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "compose-roll" && pkg.version) return pkg.version;
    } catch {
      // not here: look one directory up
    }
  }
  return "unknown";
}

/** What `docker-roll docker-cli-plugin-metadata` prints (docker/cli cli-plugins/metadata). */
export function metadata(): Record<string, string> {
  return {
    SchemaVersion: "0.1.0",
    Vendor: "compose-roll",
    Version: version(),
    ShortDescription: "Roll a Compose service to a new image behind Traefik, dropping no request",
  };
}

export interface PluginCall {
  /** compose-roll's own arguments (after `roll`). */
  args: string[];
  /** Environment changes (undefined = unset) that carry docker's global flags. */
  env: Record<string, string | undefined>;
}

/** docker's global flags that take a value, as `docker --help` lists them. */
const WITH_VALUE = new Set(["-c", "--context", "-H", "--host", "--config", "-l", "--log-level"]);
const TLS_FILES = new Set(["--tlscacert", "--tlscert", "--tlskey"]);

/** Splits `[global flags...] roll [args...]` as the docker CLI passes it to a plugin. */
export function pluginArgs(argv: string[]): PluginCall {
  const env: Record<string, string | undefined> = {};
  let verbose = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === PLUGIN_NAME) break;
    const [flag = "", inline] =
      a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a];
    if (TLS_FILES.has(flag)) {
      throw new RefusedError(
        `docker roll: ${flag} is not supported`,
        "put ca.pem, cert.pem and key.pem in one directory and set DOCKER_CERT_PATH to it",
      );
    }
    const value = WITH_VALUE.has(flag) ? (inline ?? argv[++i]) : undefined;
    switch (flag) {
      case "-c":
      case "--context":
        // An explicit --context beats DOCKER_HOST in the docker CLI.
        Object.assign(env, { DOCKER_CONTEXT: value, DOCKER_HOST: undefined });
        break;
      case "-H":
      case "--host":
        Object.assign(env, { DOCKER_HOST: value, DOCKER_CONTEXT: undefined });
        break;
      case "--config":
        env.DOCKER_CONFIG = value;
        break;
      case "--tlsverify":
      case "--tls":
        env.DOCKER_TLS_VERIFY = "1";
        break;
      case "-D":
      case "--debug":
        verbose = true;
        break;
      case "-l":
      case "--log-level":
        break;
      default:
        throw new RefusedError(
          `docker roll: unexpected argument ${a} before "roll"`,
          "run it as: docker [--context NAME | -H HOST] roll <service> --image <ref>",
        );
    }
  }
  const args = argv.slice(i + 1);
  return { args: verbose ? [...args, "--verbose"] : args, env };
}

/** Writes the `docker-roll` shim into the docker CLI's plugin directory; returns its path. */
export function installPlugin(opts: {
  dir?: string;
  node: string;
  entry: string;
  env: NodeJS.ProcessEnv;
}): string {
  const dir = opts.dir ?? join(configDir(opts.env), "cli-plugins");
  const file = join(dir, `docker-${PLUGIN_NAME}`);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    file,
    [
      "#!/bin/sh",
      "# Docker CLI plugin: `docker roll ...` runs compose-roll (written by `compose-roll install-plugin`).",
      // `--`: Node reads a later `--env-file <path>` as its own (nodejs/node#54232), not past `--`.
      `${PLUGIN_ENV}=1 exec ${q(opts.node)} -- ${q(opts.entry)} "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(file, 0o755);
  return file;
}

/** `compose-roll install-plugin [--dir D]`: the shim runs this Node and this entry point. */
export function installPluginCommand(raw: { dir?: string }): void {
  const entry = join(dirname(fileURLToPath(import.meta.url)), "entry.js");
  const file = installPlugin({
    ...(raw.dir ? { dir: raw.dir } : {}),
    node: process.execPath,
    entry,
    env: process.env,
  });
  process.stdout.write(`installed ${file}: \`docker roll <service> --image <ref>\` now runs compose-roll\n`);
}
