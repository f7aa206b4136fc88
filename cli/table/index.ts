// The option table: every option compose-roll takes, once. cli/main.ts makes commander's
// options from it, cli/settings.ts the x-compose-roll schema and the COMPOSE_ROLL_* names,
// cli/options.ts the defaults and the parsing, cli/docs.ts docs/configuration.md.
// The order is --help's, and the settings' order in `--dry-run`.
import { COMPOSE, CONNECTION, PLUGIN } from "./general.js";

export { SERVICE_COMMANDS } from "./general.js";

import { BAKE } from "./bake.js";
import { HOOKS } from "./hooks.js";
import { RELEASE } from "./release.js";
import { LOCKING, ROLL, TIMING } from "./rollout.js";
import { DRAINING, ROUTING } from "./routing.js";
import type { OptionRow, RawOptionsOf } from "./types.js";

export type { CommandName, OptionRow, RawValue, RoutingMode, ValueType } from "./types.js";

const ROWS = [
  ...COMPOSE,
  ...ROUTING,
  ...TIMING,
  ...DRAINING,
  ...LOCKING,
  ...CONNECTION,
  ...ROLL,
  ...RELEASE,
  ...BAKE,
  ...HOOKS,
  ...PLUGIN,
] as const;

export const OPTIONS: readonly OptionRow[] = ROWS;

/** The options as commander hands them over (and the lower layers fill them), by field. */
export type RawOptions = RawOptionsOf<typeof ROWS>;

/** The options that are also COMPOSE_ROLL_* variables and x-compose-roll keys. */
export const SETTINGS: readonly OptionRow[] = OPTIONS.filter((o) => o.setting);

/** The RawOptions field of a key: "traefik-api" → traefikApi. */
export function fieldOf(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** COMPOSE_ROLL_TRAEFIK_API for traefik-api. */
export function envNameOf(key: string): string {
  return `COMPOSE_ROLL_${key.toUpperCase().replace(/-/g, "_")}`;
}

/** The long flag as typed: --drain, --no-write. */
export function longFlag(o: OptionRow): string {
  return `--${o.negate ? "no-" : ""}${o.key}`;
}

/** The option as commander declares it: "-f, --file <path>". */
export function flagSpec(o: OptionRow): string {
  return `${o.short ? `${o.short}, ` : ""}${longFlag(o)}${o.arg ? ` ${o.arg}` : ""}`;
}

/** The `--help` line: the help, then the default. */
export function helpLine(o: OptionRow): string {
  const dflt = o.defaultText ?? o.default;
  return dflt ? `${o.help} (default: ${dflt})` : o.help;
}

/** The defaults, by RawOptions field, as a user would give them. */
export const DEFAULTS: Readonly<Record<string, string>> = Object.fromEntries(
  OPTIONS.flatMap((o) => (o.default === undefined ? [] : [[fieldOf(o.key), o.default]])),
);

/** What a rollout remembers in its revision (by RawOptions field), so the next command needs fewer flags. */
export const REMEMBERED: readonly string[] = OPTIONS.filter((o) => o.remembered).map((o) => fieldOf(o.key));

export function optionAt(field: string): OptionRow | undefined {
  return OPTIONS.find((o) => fieldOf(o.key) === field);
}
