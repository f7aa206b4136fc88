// The shape of one row of the option table (cli/table/index.ts): everything compose-roll
// knows about an option, from which commander's options, the x-compose-roll schema, the
// defaults and docs/configuration.md are all generated.

/** The commands that take options, as `compose-roll <command> --help` names them. */
export type CommandName =
  | "roll"
  | "up"
  | "undo"
  | "repair"
  | "sync"
  | "history"
  | "status"
  | "lock status"
  | "lock release"
  | "install-plugin";

/** How Traefik routes the service: a file compose-roll owns, or Docker labels. */
export type RoutingMode = "file" | "labels";

/**
 * What a value is, for the x-compose-roll schema and the docs: `text` a non-empty string,
 * `duration` and `count` a string or a number, `hook` a string of words or a list of words,
 * `specs` a string or a list of strings, `enum` one of `values`.
 */
export type ValueType = "text" | "duration" | "count" | "boolean" | "enum" | "hook" | "specs" | "list";

export interface OptionRow {
  /** The long flag without `--`; also the x-compose-roll key and, upper-cased, COMPOSE_ROLL_<KEY>. */
  readonly key: string;
  /** A one-letter alias, e.g. "-f". */
  readonly short?: string;
  /** The placeholder after the flag ("<duration>"); none for an on/off flag. */
  readonly arg?: string;
  /** The flag is `--no-<key>`: the value is true unless it is given. */
  readonly negate?: true;
  /** Given several times, the values add up to a list. */
  readonly repeatable?: true;
  readonly type: ValueType;
  /** For `enum`: the values it takes. */
  readonly values?: readonly string[];
  /** The default, written as a user would give it; what parseOptions falls back to. */
  readonly default?: string;
  /** The default in words, when it is worked out (from the compose file, Docker, ...). */
  readonly defaultText?: string;
  /** One line for `--help`. */
  readonly help: string;
  /** More for docs/configuration.md only: the value's grammar, limits, interplay. */
  readonly more?: string;
  readonly commands: readonly CommandName[];
  readonly modes: readonly RoutingMode[];
  /** Also a COMPOSE_ROLL_* variable and an x-compose-roll key. */
  readonly setting?: true;
  /** A revision records it, and the next command on the service uses it when nothing else names it. */
  readonly remembered?: true;
  /**
   * Names a path or URL on the machine compose-roll runs on: remembered from a tcp:// Docker
   * host, it is not followed without --trust-host-settings.
   */
  readonly local?: true;
  /** The command cannot run without it (commander's requiredOption). */
  readonly required?: true;
  /** The Options field the parsed value goes to (default: the key in camelCase). */
  readonly into?: string;
  /**
   * Turns the value as given (flag text, variable, x-compose-roll value, remembered label)
   * into what Options holds, or refuses it naming `what`. None: the option is read elsewhere.
   */
  readonly parse?: (value: RawValue, what: string) => unknown;
}

/** A value before parsing: commander's text, a list of repeated flags, an on/off flag, or a YAML value. */
export type RawValue = string | string[] | boolean | undefined;

/** "traefik-api" → "traefikApi", as commander names the option's value. */
type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;

/** A value before parsing, by the row: on/off, a command or specs (a string or a list), repeated flags. */
type RawOf<R> = R extends { type: "boolean" }
  ? boolean
  : R extends { type: "hook" | "specs" }
    ? string | string[]
    : R extends { repeatable: true }
      ? string[]
      : string;

export type RawOptionsOf<Rows extends readonly OptionRow[]> = {
  [R in Rows[number] as Camel<R["key"]>]?: RawOf<R>;
};
