// Settings from everywhere a user can put them, merged into the RawOptions that
// parseOptions validates. Highest first: command-line flags, COMPOSE_ROLL_<KEY> environment
// variables, the service's `x-compose-roll` block, the compose file's top-level
// `x-compose-roll` block, the last revision's remembered settings, the defaults. A project
// that keeps its Traefik options in its compose file then rolls with `--image` alone.
// Pure: the caller reads the compose file, the environment and the history.
import { dirname, isAbsolute, resolve } from "node:path";
// zod/mini: the same checks and messages as zod, a fraction of the code to load once bundled.
import { z } from "zod/mini";
import { RefusedError } from "../controller/errors.js";
import { type OptionNames, parseOptions, type RawOptions } from "./options.js";
import { type RecordHost, rememberedValues } from "./remembered.js";
import { describe, suggest } from "./suggest.js";
import { envNameOf, fieldOf, type OptionRow, SETTINGS, type ValueType } from "./table/index.js";

export { envNameOf, suggest };

const DURATION = 'expected a duration like "90s" or "2m", or a number of seconds';
// Numbers are normalised to the strings parseOptions reads, as if typed after the flag.
const duration = z.pipe(z.union([z.string(), z.number()], { error: DURATION }), z.transform(String));
const count = z.pipe(
  z.union([z.string(), z.number()], { error: "expected a whole number" }),
  z.transform(String),
);
const text = z.string({ error: "expected a string" }).check(z.minLength(1, { error: "must not be empty" }));
const hook = z.union([z.string(), z.array(z.string())], {
  error: "expected a command: a string of words, or a list of words",
});
const specs = z.union([text, z.array(text)], { error: "expected a string or a list of strings" });
const boolean = z.boolean({ error: "expected true or false" });
const SCHEMA = { text, duration, count, boolean, hook, specs } satisfies Record<
  Exclude<ValueType, "enum" | "list">,
  z.ZodMiniType
>;

/** The x-compose-roll schema of a setting, by its row's type. */
function schemaOf(o: OptionRow): z.ZodMiniType {
  if (o.values) {
    const one = `expected one of ${o.values.join(", ")}`;
    return z.enum(o.values as [string, ...string[]], { error: one });
  }
  if (o.type === "enum" || o.type === "list") throw new Error(`${o.key}: no x-compose-roll schema`);
  return SCHEMA[o.type];
}

/** One `x-compose-roll` block. Keys are the long flags' names; values are checked by parseOptions. */
export const settingsSchema = z.partial(
  z.strictObject(Object.fromEntries(SETTINGS.map((o) => [o.key, schemaOf(o)]))),
);

export type SettingKey = string;
export const SETTING_KEYS: readonly SettingKey[] = SETTINGS.map((o) => o.key);
const BOOLEANS: readonly SettingKey[] = SETTINGS.filter((o) => o.type === "boolean").map((o) => o.key);

/** The RawOptions field a setting fills ("traefik-api" → traefikApi). */
export function rawKeyOf(key: SettingKey): keyof RawOptions | undefined {
  return fieldOf(key) as keyof RawOptions;
}

export interface SettingsInput {
  /** What commander parsed: only values given on the command line (see explicitFlags). */
  flags: RawOptions;
  env: Record<string, string | undefined>;
  /** The compose file's top-level `x-compose-roll`. */
  project?: unknown;
  /** The service's `x-compose-roll`, and the service's name for messages. */
  service?: unknown;
  serviceName?: string;
  /** The compose file, for messages; its directory is the fallback project directory. */
  file?: string;
  /**
   * The file that declares each block, when compose merged several (an override file's
   * block): named in its refusals and sources instead of `file`.
   */
  blockFiles?: { project?: string; service?: string };
  /** The compose project directory: relative paths in the compose file are relative to it. */
  projectDir?: string;
  /** The last revision's settings (settingsOf), keyed by RawOptions field. */
  remembered?: Record<string, string>;
  /** The Docker host they were read from (cli/remembered.ts). */
  host?: RecordHost;
}

export interface ResolvedSettings {
  /** Flags with the gaps filled from the lower layers, for parseOptions. */
  raw: RawOptions;
  /** Per setting key, where its value came from: "--drain", "COMPOSE_ROLL_DRAIN", ..., "default". */
  sources: Record<string, string>;
  /** For parseOptions, so a refusal names the variable or block a value came from, not its flag. */
  names: OptionNames;
  /** Lines to show: remembered settings that were not followed, and why. */
  ignored: string[];
}

interface Layer {
  values: RawOptions;
  /** Where each filled value came from, for `sources`. */
  source: (key: SettingKey, value: unknown) => string;
  /** How a value is named in refusals; flags go by their own name. */
  label?: (key: SettingKey) => string;
}

export function resolveSettings(input: SettingsInput): ResolvedSettings {
  const layers: Layer[] = [
    {
      values: input.flags,
      source: (key, value) => (key === "write" && value === false ? "--no-write" : `--${key}`),
    },
    envLayer(input.env),
  ];
  const dir = input.projectDir ?? (input.file ? dirname(input.file) : undefined);
  if (input.service !== undefined && input.service !== null) {
    const svc = `service ${input.serviceName ?? "?"}`;
    const file = input.blockFiles?.service ?? input.file;
    const inFile = file ? ` (${file})` : "";
    layers.push(
      blockLayer(input.service, {
        name: (key) => `x-compose-roll${key ? `.${key}` : ""} of ${svc}${inFile}`,
        source: `x-compose-roll (${svc}${file ? `, ${file}` : ""})`,
        dir,
      }),
    );
  }
  if (input.project !== undefined && input.project !== null) {
    const file = input.blockFiles?.project ?? input.file;
    const inFile = file ? ` (${file})` : "";
    layers.push(
      blockLayer(input.project, {
        name: (key) => `top-level x-compose-roll${key ? `.${key}` : ""}${inFile}`,
        source: `x-compose-roll${inFile}`,
        dir,
      }),
    );
  }
  // Only the routing settings a revision remembers (REMEMBERED), nothing else it recorded.
  const remembered = rememberedValues(
    input.remembered,
    input.host,
    (field) => layers.some((l) => l.values[field] !== undefined),
    input.flags.trustHostSettings === true,
  );
  layers.push({
    values: remembered.values,
    source: () => "last revision",
    label: (key) => `${key} (last revision)`,
  });

  const raw: RawOptions = { ...input.flags };
  const sources: Record<string, string> = {};
  const names: OptionNames = {};
  for (const key of SETTING_KEYS) {
    const field = rawKeyOf(key);
    if (!field) continue;
    const layer = layers.find((l) => l.values[field] !== undefined);
    if (!layer) {
      sources[key] = "default";
      continue;
    }
    (raw as Record<string, unknown>)[field] = layer.values[field];
    sources[key] = layer.source(key, layer.values[field]);
    if (layer.label) names[field] = layer.label(key);
  }
  return { raw, sources, names, ignored: remembered.ignored };
}

/** COMPOSE_ROLL_<KEY> variables; an empty one counts as unset, as CI templates leave them. */
function envLayer(env: Record<string, string | undefined>): Layer {
  const block: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const value = env[envNameOf(key)];
    if (value === undefined || value === "") continue;
    block[key] = BOOLEANS.includes(key) ? envBoolean(envNameOf(key), value) : value;
  }
  // Typo protection without claiming the whole prefix: a variable one slip away from a
  // setting is refused; others (say COMPOSE_ROLL_VERSION for an install step) are not ours.
  for (const name of Object.keys(env)) {
    if (!name.startsWith("COMPOSE_ROLL_") || name.startsWith("COMPOSE_ROLL_TEST_")) continue;
    if (SETTING_KEYS.some((k) => envNameOf(k) === name)) continue;
    const near = suggest(name.slice("COMPOSE_ROLL_".length), SETTING_KEYS);
    if (near) {
      throw new RefusedError(
        `environment variable ${name} is not a compose-roll setting`,
        `did you mean ${envNameOf(near)}? otherwise unset it`,
      );
    }
  }
  return { values: checked(block, "the environment", envNameOf, "/"), source: envNameOf, label: envNameOf };
}

function envBoolean(name: string, value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new RefusedError(`${name}: "${value}" must be true or false`, `set ${name}=false or unset it`);
}

interface Block {
  /** The block, or one of its keys, as refusals name it. */
  name: (key?: SettingKey) => string;
  source: string;
  dir: string | undefined;
}

function blockLayer(block: unknown, { name, source, dir }: Block): Layer {
  const where = name();
  if (typeof block !== "object" || block === null || Array.isArray(block)) {
    throw new RefusedError(
      `${where} must be a mapping of settings, got ${describe(block)}`,
      "write it as key: value lines, e.g. drain: 5s",
    );
  }
  const values = checked(block, where, name, dir);
  // The compose file's paths are relative to its project directory, wherever we run from.
  const file = values.traefikFile;
  if (file !== undefined && !isAbsolute(file)) {
    if (!dir) {
      throw new RefusedError(
        `${name("traefik-file")}: ${file} is relative, but no compose project directory is known`,
        "write an absolute path",
      );
    }
    values.traefikFile = resolve(dir, file);
  }
  return { values, source: () => source, label: name };
}

/**
 * Validates a block against the schema (shape, unknown keys) and its values with
 * parseOptions itself, so a bad value is refused even when a higher layer overrides it.
 */
function checked(
  block: object,
  where: string,
  label: (key: SettingKey) => string,
  dir: string | undefined,
): RawOptions {
  const parsed = settingsSchema.safeParse(block);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0] as string;
      const near = suggest(key, SETTING_KEYS);
      throw new RefusedError(
        `${where}: unknown key "${key}"`,
        near ? `did you mean "${near}"?` : `known keys: ${SETTING_KEYS.join(", ")}`,
      );
    }
    const key = issue.path[0] as SettingKey;
    const value = (block as Record<string, unknown>)[key];
    // An issue inside a list (`smoke: [""]`) is about one item: name it, not "a list".
    const at = issue.path[1];
    const what =
      typeof at === "number" && Array.isArray(value)
        ? `item ${at + 1} of the list ${issue.message}, got ${describe(value[at])}`
        : `${issue.message}, got ${describe(value)}`;
    throw new RefusedError(
      `${label(key)}: ${what}`,
      `write it as --${key} takes it (\`compose-roll --help\`), or remove it`,
    );
  }
  const values: RawOptions = {};
  const names: OptionNames = {};
  for (const [key, value] of Object.entries(parsed.data) as [SettingKey, unknown][]) {
    const field = rawKeyOf(key);
    if (!field || value === undefined) continue;
    (values as Record<string, unknown>)[field] = value;
    names[field] = label(key);
  }
  parseOptions("service", values, dir ?? "/", false, names);
  return values;
}

/**
 * The command line and COMPOSE_ROLL_* alone, checked before anything connects anywhere:
 * most bad input is refused here, before Docker or compose is asked anything.
 */
export function checkGiven(
  service: string | undefined,
  flags: RawOptions,
  env: Record<string, string | undefined>,
  cwd: string,
): void {
  const { raw, names } = resolveSettings({ flags, env });
  parseOptions(service ?? "service", raw, cwd, false, names);
}

/**
 * Only the options the user gave: commander fills in declared defaults, which would hide
 * every lower layer. `sourceOf` is commander's `cmd.getOptionValueSource`.
 */
export function explicitFlags(raw: RawOptions, sourceOf: (key: string) => string | undefined): RawOptions {
  const out: RawOptions = {};
  for (const [key, value] of Object.entries(raw)) {
    if (sourceOf(key) !== "default") (out as Record<string, unknown>)[key] = value;
  }
  return out;
}
