// Rows of the option table for the bake: how long each new replica is watched on real
// traffic beside the old ones, what share the first one gets, and what counts as worse.
// The defaults are set from the noise measured on the demo (docs/bake.md).
import { RefusedError } from "../../controller/errors.js";
import { parseDuration } from "../parsers.js";
import { shown } from "../validate.js";
import { BOTH_MODES } from "./general.js";
import type { OptionRow } from "./types.js";

const roll = { commands: ["roll"], modes: BOTH_MODES } as const;

/** A plain decimal number from `min` to `max` ("5", "2.5"; not "0x5", "1e2" or " "). */
function decimal(text: string, what: string, min: number, max: number, hint: string): number {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max))
    throw new RefusedError(`${what}: ${shown(text)} must be a number from ${min} to ${max}`, hint);
  return n;
}

export const BAKE = [
  {
    key: "bake",
    arg: "<duration>",
    type: "duration",
    defaultText: "compose's deploy.update_config.monitor, else off",
    help: "watch each new replica this long on real traffic (Traefik's access log) beside the old ones; roll back if worse",
    more: "`0s` turns it off. Needs Traefik's JSON access log (`--accesslog=true --accesslog.format=json`): without it the rollout is refused before anything changes. See docs/bake.md.",
    setting: true,
    into: "bakeMs",
    parse: (v, what) => (v === undefined ? undefined : parseDuration(String(v), what)),
    ...roll,
  },
  {
    key: "canary",
    arg: "<percent>",
    type: "count",
    defaultText: "off: file mode, an equal share; label mode, always 1/(N+1)",
    help: "file mode: the first new replica gets this share of the traffic while it bakes",
    more: "From 1 to 99. Traefik's weighted round robin gives it the share; after its bake the rollout continues at equal weights. Label mode cannot weigh servers: the first new replica serves 1/(N+1) beside N old ones.",
    setting: true,
    parse: (v, what) =>
      v === undefined ? undefined : decimal(String(v), what, 1, 99, "give a share in percent, e.g. 10"),
    ...roll,
  },
  {
    key: "max-error-rate",
    arg: "<points>",
    type: "count",
    default: "2",
    help: "bake: roll back when the new replicas' 5xx rate exceeds the old ones' by more than this many percentage points",
    more: "From 0 to 100; connection failures (Traefik's 502/504) count as 5xx.",
    setting: true,
    parse: (v, what) => decimal(String(v), what, 0, 100, "give percentage points, e.g. 2"),
    ...roll,
  },
  {
    key: "max-latency-ratio",
    arg: "<ratio>",
    type: "count",
    default: "3",
    help: "bake: roll back when the new replicas' p99 or median over the bake exceeds this many times the old ones' (and by 25 ms or more)",
    more: "From 1 to 1000.",
    setting: true,
    parse: (v, what) => decimal(String(v), what, 1, 1000, "give a ratio, e.g. 2"),
    ...roll,
  },
  {
    key: "max-p99",
    arg: "<duration>",
    type: "duration",
    defaultText: "none",
    help: "bake: roll back when the new replicas' p99 over the bake is above this, whatever the old ones'",
    setting: true,
    into: "maxP99Ms",
    parse: (v, what) => (v === undefined ? undefined : parseDuration(String(v), what)),
    ...roll,
  },
  {
    key: "min-requests",
    arg: "<n>",
    type: "count",
    default: "50",
    help: "bake: requests the new replicas must have answered before they are judged",
    more: "From 1 to 1000000. A bake that ends with fewer says so and lets the rollout go on.",
    setting: true,
    parse: (v, what) =>
      Math.round(decimal(String(v), what, 1, 1_000_000, "give a number of requests, e.g. 50")),
    ...roll,
  },
  {
    key: "access-log",
    arg: "<source>",
    type: "text",
    defaultText: "the log stream of the project's Traefik container",
    help: "where the bake reads Traefik's JSON access log: container:<name>, or a file on this machine",
    setting: true,
    local: true,
    parse: (v) => (v === undefined ? undefined : String(v)),
    ...roll,
  },
] as const satisfies readonly OptionRow[];
