// Rows of the option table: how long a rollout waits for what, how wide it rolls, its lock
// and its history, and what the roll, undo and repair commands themselves take.

import { pullPolicyOf } from "../../engine/pullPolicy.js";
import { checkImageRef, PULL, parseDuration, parseScale, parseTimeout } from "../parsers.js";
import { atLeast, wholeNumber } from "../validate.js";
import { BOTH_MODES, onOff, SERVICE_COMMANDS } from "./general.js";
import type { OptionRow } from "./types.js";

const all = { commands: SERVICE_COMMANDS, modes: BOTH_MODES } as const;
const DURATION = "Durations: `90s`, `2m`, `1m30s`, `500ms`, or a number of seconds, up to 24 days.";

export const TIMING = [
  {
    key: "health-timeout",
    arg: "<duration>",
    type: "duration",
    default: "120s",
    help: "how long a new container may take to turn healthy",
    more: `${DURATION} At least \`1s\`.`,
    setting: true,
    into: "healthTimeoutMs",
    parse: (v, what) => parseTimeout(String(v), what),
    ...all,
  },
  {
    key: "route-timeout",
    arg: "<duration>",
    type: "duration",
    // Traefik applies the first change at once but throttles later ones to one per 2 s, and
    // we wait for its API anyway: 30 s only bites when Traefik is really stuck.
    default: "30s",
    help: "how long Traefik may take to apply a change",
    more: `${DURATION} At least \`1s\`.`,
    setting: true,
    into: "routeTimeoutMs",
    parse: (v, what) => parseTimeout(String(v), what),
    ...all,
  },
  {
    key: "drain",
    arg: "<duration>",
    type: "duration",
    // Traefik swaps handlers atomically and lets in-flight requests finish on the old one,
    // and the server is out of its API before the drain starts; the drain only has to cover
    // requests already in flight (the app's own graceful stop covers longer ones).
    default: "3s",
    help: "how long a server stays out of Traefik before its container stops",
    more: DURATION,
    setting: true,
    into: "drainMs",
    parse: (v, what) => parseDuration(String(v), what),
    ...all,
  },
  {
    key: "max-surge",
    arg: "<n>",
    type: "count",
    default: "1",
    help: "new containers started side by side",
    more: "From 1 to 100; never fewer than the service's replicas serve.",
    setting: true,
    parse: (v, what) => wholeNumber(String(v), what, "maxSurge"),
    ...all,
  },
] as const satisfies readonly OptionRow[];

export const LOCKING = [
  {
    key: "wait",
    arg: "<duration>",
    type: "duration",
    default: "0s",
    defaultText: "0s: fail at once, exit 3",
    help: "wait this long for another rollout's lock",
    setting: true,
    into: "waitMs",
    parse: (v, what) => parseDuration(String(v), what),
    ...all,
  },
  {
    key: "lock-stale-after",
    arg: "<duration>",
    type: "duration",
    default: "30m",
    help: "only for a lock an older compose-roll took on another host (no lease): stale after this",
    setting: true,
    into: "lockStaleMs",
    parse: (v, what) => parseDuration(String(v), what),
    ...all,
  },
  {
    key: "lock-lease",
    arg: "<duration>",
    type: "duration",
    // A dead holder elsewhere frees the lock this long after its last renewal (every lease/6).
    default: "60s",
    help: "this run renews its lock every lease/6; dead elsewhere, it frees after one lease",
    more: `${DURATION} At least \`10s\`: below it, one slow engine call could cost a live holder its lock.`,
    setting: true,
    into: "lockLeaseMs",
    parse: (v, what) => atLeast(parseDuration(String(v), what), 10_000, String(v), what),
    ...all,
  },
  {
    key: "history-limit",
    arg: "<n>",
    type: "count",
    default: "10",
    help: "revisions kept on the Docker host",
    more: "From 1 to 1000.",
    setting: true,
    parse: (v, what) => wholeNumber(String(v), what, "historyLimit"),
    ...all,
  },
] as const satisfies readonly OptionRow[];

const ROLLOUTS = ["roll", "up", "undo", "repair"] as const;

export const ROLL = [
  {
    key: "image",
    arg: "<ref>",
    type: "text",
    defaultText: "the image the compose files name, with their configuration",
    help: "the image to roll to (pulled first when not on the Docker host)",
    more: "`[registry/]name[:tag][@digest]`, or an image ID. Without it, the service rolls to what the compose files say now: their image and configuration (edit the tag or a variable, then run `compose-roll <service>`); with it, the files' configuration with this image, written back after a complete rollout.",
    parse: (v) => (v === undefined ? undefined : checkImageRef(String(v))),
    commands: ["roll", "up"],
    modes: BOTH_MODES,
  },
  {
    key: "scale",
    arg: "<service=n>",
    type: "text",
    defaultText: "the files' deploy.replicas, else as many as run",
    help: "converge the service to n replicas: new ones join Traefik proven, surplus ones drain first",
    more: "As `docker compose up --scale`: `web=5`; the service must be the one rolled. At least 1. Never fewer serving than the smaller of the old and new counts.",
    parse: (v, what) => (v === undefined ? undefined : parseScale(String(v), what)),
    commands: ["roll"],
    modes: BOTH_MODES,
  },
  {
    key: "pull",
    arg: "<policy>",
    type: "enum",
    values: PULL,
    defaultText: "the service's pull_policy, else missing",
    help: "missing: pull the image only when it is not on the Docker host; always; never",
    more: "compose's `if_not_present` is `missing`; `daily`, `weekly` and `every_<d>` act as `missing`; `build` is refused.",
    setting: true,
    parse: (v, what) => (v === undefined ? undefined : pullPolicyOf(String(v), what).policy),
    commands: ["roll"],
    modes: BOTH_MODES,
  },
  {
    key: "write",
    negate: true,
    type: "boolean",
    help: "leave the compose files alone (they then still name the old image)",
    setting: true,
    more: "In x-compose-roll and COMPOSE_ROLL_WRITE: `write: false` does what `--no-write` does.",
    parse: (v) => v !== false,
    commands: ROLLOUTS,
    modes: BOTH_MODES,
  },
  {
    key: "dry-run",
    type: "boolean",
    help: "print the plan (settings and their sources, steps, file diffs); change nothing",
    more: "On a Swarm stack service: the stand-in rollout's phases, with the image pinned by digest and the tasks at peak.",
    parse: onOff,
    commands: ROLLOUTS,
    modes: BOTH_MODES,
  },
  {
    key: "to-revision",
    arg: "<n>",
    type: "count",
    defaultText: "the last complete revision before the current one",
    help: "roll back to this revision instead (see `history`)",
    parse: (v, what) => (v === undefined ? undefined : wholeNumber(String(v), what, "toRevision")),
    commands: ["undo"],
    modes: BOTH_MODES,
  },
] as const satisfies readonly OptionRow[];
