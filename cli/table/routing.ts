// Rows of the option table: where Traefik is, what it routes, and how old containers leave it.
import { RefusedError } from "../../controller/errors.js";
import { httpUrl, parseArgv } from "../parsers.js";
import { checkName, checkProbePath, shown, wholeNumber } from "../validate.js";
import { BOTH_MODES, onOff, SERVICE_COMMANDS } from "./general.js";
import type { OptionRow } from "./types.js";

const all = { commands: SERVICE_COMMANDS, modes: BOTH_MODES } as const;
const fileMode = { commands: SERVICE_COMMANDS, modes: ["file"] } as const;
const labelMode = { commands: SERVICE_COMMANDS, modes: ["labels"] } as const;

export const ROUTING = [
  {
    key: "traefik-api",
    arg: "<url>",
    type: "text",
    default: "http://127.0.0.1:8080",
    defaultText: "the last rollout's, else http://127.0.0.1:8080",
    help: "Traefik API base URL",
    more: "An http:// or https:// URL; a container name as its host resolves through the Engine API.",
    setting: true,
    remembered: true,
    local: true,
    parse: (v, what) => httpUrl(String(v), what),
    ...all,
  },
  {
    key: "traefik-url",
    arg: "<url>",
    type: "text",
    default: "http://127.0.0.1",
    defaultText: "the last rollout's, else http://127.0.0.1",
    help: "Traefik entrypoint your service's routers use, for live probes",
    setting: true,
    remembered: true,
    local: true,
    parse: (v, what) => httpUrl(String(v), what),
    ...fileMode,
  },
  {
    key: "traefik-file",
    arg: "<path>",
    type: "text",
    defaultText: "the last rollout's; required in file mode",
    help: "the YAML file compose-roll owns, in the directory Traefik watches",
    more:
      "Or that directory (an existing one, or a path ending in `/`): then `<dir>/<traefik service>.yml`. " +
      "Must end in `.yml` or `.yaml`; relative paths in x-compose-roll are relative to the compose project " +
      "directory. A remembered one must be absolute.",
    setting: true,
    remembered: true,
    local: true,
    ...fileMode,
  },
  {
    key: "traefik-service",
    arg: "<name>",
    type: "text",
    defaultText: "the compose service",
    help: "Traefik service name",
    setting: true,
    remembered: true,
    ...all,
  },
  {
    key: "port",
    arg: "<n>",
    type: "count",
    defaultText: "the new image's single exposed port",
    help: "container port Traefik targets on the new image",
    setting: true,
    parse: (v, what) => wholeNumber(String(v), what, "port"),
    ...all,
  },
  {
    key: "network",
    arg: "<name>",
    type: "text",
    defaultText: "the containers' only network",
    help: "network Traefik reaches the containers on",
    setting: true,
    remembered: true,
    parse: (v, what) => checkName(String(v), what, "network"),
    ...all,
  },
  {
    key: "probe-path",
    arg: "<path>",
    type: "text",
    default: "/",
    help: "path of the live request sent through Traefik to a new container",
    more: "A path starting with `/`, without blanks or control characters.",
    setting: true,
    remembered: true,
    parse: (v, what) => checkProbePath(String(v), what),
    ...fileMode,
  },
] as const satisfies readonly OptionRow[];

export const DRAINING = [
  {
    key: "drain-file",
    arg: "<path>",
    type: "text",
    default: "/tmp/drain",
    help: "label mode: the file whose existence fails the healthcheck",
    more: "docker-rollout's convention; an absolute path inside the container.",
    parse: (v, what) => {
      const path = String(v);
      if (path.startsWith("/")) return path;
      throw new RefusedError(
        `${what}: ${shown(path)} must be an absolute path inside the container`,
        "give one like /tmp/drain, the file the service's healthcheck tests for",
      );
    },
    ...labelMode,
  },
  {
    key: "drain-command",
    arg: "<argv>",
    type: "text",
    help: "label mode: command exec'd in an old container to fail its healthcheck (words or a JSON array)",
    more: "Never run through a shell of compose-roll's: name `sh -c` yourself if you need one.",
    parse: (v, what) => (v === undefined ? undefined : parseArgv(String(v), what)),
    ...labelMode,
  },
  {
    key: "allow-unsafe-drain",
    type: "boolean",
    help: "label mode: roll even though nothing takes old containers out of Traefik before they stop",
    parse: onOff,
    ...labelMode,
  },
] as const satisfies readonly OptionRow[];
