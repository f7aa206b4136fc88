// Rows of the option table for `compose-roll up`: what a release leaves out, forces, and
// how long a worker without a healthcheck must run; and the two x-compose-roll keys a
// service's block may set for it (no flag: they are per service).
import { POLICIES } from "../../controller/release-policy.js";
import { listOf, parseDuration } from "../parsers.js";
import { BOTH_MODES, onOff } from "./general.js";
import type { OptionRow } from "./types.js";

const up = { commands: ["up"], modes: BOTH_MODES } as const;

export const RELEASE = [
  {
    key: "skip",
    arg: "<service>",
    repeatable: true,
    type: "list",
    help: "leave this service out of the release, as if it were stateful (repeatable)",
    more: "A changed service left out is reported in one line with what to do.",
    parse: (v) => listOf(v as string | string[] | undefined),
    ...up,
  },
  {
    key: "force",
    type: "boolean",
    help: "recreate a stateful service named on the command line (stop-first: its clients see it restart)",
    parse: onOff,
    ...up,
  },
  {
    key: "settle",
    arg: "<duration>",
    type: "duration",
    // docker-rollout's --wait for a container without a healthcheck.
    default: "10s",
    help: "a new worker without a healthcheck counts as started once it has run this long",
    more: "The service's healthcheck start_period wins when longer. With a healthcheck (the file's or the image's), healthy is what counts.",
    setting: true,
    into: "settleMs",
    parse: (v, what) => parseDuration(String(v), what),
    ...up,
  },
  {
    key: "policy",
    type: "enum",
    values: [...POLICIES, "skip"],
    defaultText: "from the compose file: routed, stateful, singleton or unrouted",
    help: "how `up` rolls this service (x-compose-roll of a service only)",
    more: "`skip` is `stateful`. routed: Traefik file or labels; stateful: a named volume on a data path; singleton: `deploy.update_config.order: stop-first`, `container_name` or a fixed host port; else unrouted. Set it where the file cannot say (a scheduler: singleton; a cache: stateful).",
    setting: true,
    commands: [],
    modes: BOTH_MODES,
  },
  {
    key: "grace-needed",
    type: "duration",
    help: "how long this service's app needs to stop; `up` warns when stop_grace_period is shorter (x-compose-roll of a service only)",
    more: "Celery: your longest task; Sidekiq: its -t plus 5s.",
    setting: true,
    commands: [],
    modes: BOTH_MODES,
  },
] as const satisfies readonly OptionRow[];
