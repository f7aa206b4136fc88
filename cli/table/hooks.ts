// Rows of the option table: the deploy hooks, the migration gate, warm-up and smoke checks.
import { parseSmoke, parseWarmup } from "../../engine/checkSpec.js";
import { checkHostName, GATE, gateOf, hookArgv, listOf, parseTimeout } from "../parsers.js";
import { BOTH_MODES } from "./general.js";
import type { OptionRow, RawValue } from "./types.js";

const roll = { commands: ["roll"], modes: BOTH_MODES } as const;
const hook = (v: RawValue, what: string) => (v === undefined ? undefined : hookArgv(v as string, what));
const COMMAND =
  "Words split as compose splits `command:` (no shell), or in x-compose-roll a list of words. " +
  "Runs in a one-off container of the new image with the service's env, env files, networks, volumes and user.";

export const HOOKS = [
  {
    key: "pre-deploy",
    arg: "<command>",
    type: "hook",
    help: "run this in a one-off container of the NEW image before any traffic moves (e.g. a migration); no shell",
    more: `${COMMAND} Fails: exit 6, nothing changed.`,
    setting: true,
    parse: hook,
    ...roll,
  },
  {
    key: "post-deploy",
    arg: "<command>",
    type: "hook",
    help: "run this in a one-off container of the new image after a complete rollout",
    more: `${COMMAND} Fails: exit 8, nothing rolled back.`,
    setting: true,
    parse: hook,
    ...roll,
  },
  {
    key: "pre-deploy-timeout",
    arg: "<duration>",
    type: "duration",
    // Migrations of a large table can take minutes; the lock's lease is renewed meanwhile.
    default: "10m",
    help: "kill the pre-deploy command after this",
    setting: true,
    into: "preDeployTimeoutMs",
    parse: (v, what) => parseTimeout(String(v), what),
    ...roll,
  },
  {
    key: "post-deploy-timeout",
    arg: "<duration>",
    type: "duration",
    default: "10m",
    help: "kill the post-deploy command after this",
    setting: true,
    into: "postDeployTimeoutMs",
    parse: (v, what) => parseTimeout(String(v), what),
    ...roll,
  },
  {
    key: "migration-gate",
    arg: "<mode>",
    type: "enum",
    values: GATE,
    default: "refuse",
    help: "before a Django `migrate` pre-deploy hook, judge its plan: refuse, warn or off",
    more: "`refuse` exits 6 on a migration that would break the old replicas; `warn` says so and goes on.",
    setting: true,
    parse: (v, what) => gateOf(String(v), what),
    ...roll,
  },
  {
    key: "allow-breaking",
    type: "boolean",
    help: "let a migration the gate calls breaking through, with a warning",
    setting: true,
    parse: (v) => v === true,
    ...roll,
  },
  {
    key: "warmup",
    arg: "<path[xN]>",
    repeatable: true,
    type: "specs",
    help: "send N requests (default 10) to each new container before it joins Traefik (repeatable)",
    setting: true,
    parse: (v, what) => listOf(v as string | string[]).map((t) => parseWarmup(t, what)),
    ...roll,
  },
  {
    key: "smoke",
    arg: "<path=text>",
    repeatable: true,
    type: "specs",
    help: "each new container must answer path with 2xx containing text before it joins Traefik (repeatable)",
    more: "A mismatch fails the replica (exit 5).",
    setting: true,
    parse: (v, what) => listOf(v as string | string[]).map((t) => parseSmoke(t, what)),
    ...roll,
  },
  {
    key: "check-host",
    arg: "<name>",
    type: "text",
    defaultText: "the container's address",
    help: "Host header of warm-up and smoke requests",
    more: "For an app that checks it (Django's `ALLOWED_HOSTS`); a host name with an optional port.",
    setting: true,
    parse: (v, what) => (v === undefined ? undefined : checkHostName(String(v), what)),
    ...roll,
  },
] as const satisfies readonly OptionRow[];
