// Rows of the option table: which compose project, which Docker host, how compose-roll talks.
import { checkProjectName } from "../validate.js";
import type { CommandName, OptionRow, RawValue, RoutingMode } from "./types.js";

/** Every command that acts on a service. */
export const SERVICE_COMMANDS: readonly CommandName[] = [
  "roll",
  "up",
  "undo",
  "repair",
  "sync",
  "history",
  "status",
  "lock status",
  "lock release",
];
export const BOTH_MODES: readonly RoutingMode[] = ["file", "labels"];
const all = { commands: SERVICE_COMMANDS, modes: BOTH_MODES } as const;

/** An on/off flag: off unless given (`--no-x` flags say otherwise themselves). */
export const onOff = (v: RawValue): boolean => v === true;

export const COMPOSE = [
  {
    key: "file",
    short: "-f",
    arg: "<path>",
    repeatable: true,
    type: "list",
    defaultText: "as docker compose",
    help: "compose file (repeatable)",
    into: "files",
    parse: (v) => (Array.isArray(v) ? v : []),
    ...all,
  },
  {
    key: "project-name",
    short: "-p",
    arg: "<name>",
    type: "text",
    defaultText: "as docker compose",
    help: "compose project",
    more: "Compose's rule: lowercase letters, digits, `-` and `_`.",
    // Named the same wherever it came from: it is a flag only.
    parse: (v) => (v === undefined ? undefined : checkProjectName(String(v), "-p/--project-name")),
    ...all,
  },
  {
    key: "env-file",
    arg: "<path>",
    repeatable: true,
    type: "list",
    defaultText: "as docker compose: .env",
    help: "compose env file (repeatable)",
    ...all,
  },
  {
    key: "profile",
    arg: "<name>",
    repeatable: true,
    type: "list",
    help: "compose profile to enable (repeatable)",
    ...all,
  },
] as const satisfies readonly OptionRow[];

export const CONNECTION = [
  {
    key: "host",
    short: "-H",
    arg: "<url>",
    type: "text",
    defaultText: "as docker",
    help: "Docker engine: unix://, tcp:// (TLS: DOCKER_TLS_VERIFY), ssh://user@host",
    more: "Over `ssh://` the Traefik file and API are reached through the engine's connection; over `tcp://` from this machine.",
    ...all,
  },
  {
    key: "context",
    arg: "<name>",
    type: "text",
    defaultText: "DOCKER_CONTEXT, then `docker context use`",
    help: "Docker CLI context to use",
    ...all,
  },
  {
    key: "trust-host-settings",
    type: "boolean",
    help: "follow the last revision's Traefik file and URLs even when they come from a tcp:// Docker host",
    more:
      "A revision remembers the Traefik file, API and entrypoint URL on the Docker host. Over `tcp://` " +
      "they would choose a file written and URLs requested on this machine, so a remote host could steer " +
      "them: without this flag they are ignored there (one line says which) and must come from a flag, " +
      "a variable or x-compose-roll.",
    ...all,
  },
  { key: "json", type: "boolean", help: "one JSON event per line on stdout, for CI", parse: onOff, ...all },
  {
    key: "verbose",
    short: "-v",
    type: "boolean",
    help: "debug logs on stderr",
    parse: onOff,
    ...all,
  },
] as const satisfies readonly OptionRow[];

export const PLUGIN = [
  {
    key: "dir",
    arg: "<path>",
    type: "text",
    defaultText: "~/.docker/cli-plugins",
    help: "plugin directory",
    commands: ["install-plugin"],
    modes: BOTH_MODES,
  },
] as const satisfies readonly OptionRow[];
