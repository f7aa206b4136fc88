// Which routing mode a service is in, decided once per command from what is running:
//   labels: its containers carry traefik.enable=true or traefik.http.* labels AND Traefik's
//           API shows the matching @docker service → Traefik's Docker provider routes it;
//   file:   otherwise → compose-roll owns a file of Traefik's file provider (as before).
// The adapters for each mode are traefik/modes.ts's.
import type Docker from "dockerode";
import { RefusedError } from "../controller/errors.js";
import { describeSwarm, type SwarmFacts, swarmVerdict } from "../controller/swarm-rules.js";
import { firstReplica } from "../engine/replicas.js";
import { detectSwarm } from "../engine/swarm/detect.js";
import type { ContainerInspect } from "../engine/types.js";
import type { HostHttp } from "../host/hostio.js";
import { TraefikApi } from "../traefik/api.js";
import {
  chooseDrain,
  type DrainMethod,
  dockerServiceName,
  labelAddress,
  PRE_STOP_HOOK,
  routedByLabels,
} from "../traefik/labels.js";
import type { Options, RawOptions } from "./options.js";

export type Mode =
  | { kind: "file" }
  | {
      kind: "labels";
      /** The service as Traefik's API names it (…@docker). */
      service: string;
      /** From the labels: traefik.docker.network, loadbalancer.server.port. */
      network?: string;
      port?: number;
      /** Undefined when no safe drain exists and unsafe was not allowed (`refusal` says why). */
      drain?: DrainMethod;
      refusal?: RefusedError;
    };

/**
 * Reads the labels and healthcheck of one running container of the service and asks
 * Traefik's API about the @docker service. `replica` may be read beforehand (openContext
 * reads it beside the revision records, whose settings this needs).
 */
export async function detectMode(
  docker: Docker,
  svc: { project: string; service: string },
  raw: RawOptions,
  opts: Options,
  http?: HostHttp,
  replica: Promise<ContainerInspect | undefined> = firstReplica(docker, svc),
): Promise<Mode> {
  const c = await replica;
  const labels = c?.Config.Labels ?? {};
  if (!c || !routedByLabels(labels)) return { kind: "file" };
  const api = new TraefikApi({ url: opts.traefikApi.href.replace(/\/$/, ""), ...(http ? { http } : {}) });
  await api.ping();
  // A plain --traefik-service (or one a file-mode rollout remembered) may name the file
  // service: the name the labels give wins when Traefik knows only that one.
  let service = dockerServiceName(labels, svc, raw.traefikService);
  const fallback = dockerServiceName(labels, svc);
  if (
    service !== fallback &&
    !raw.traefikService?.includes("@") &&
    (await api.service(service)) === undefined
  )
    service = fallback;
  if ((await api.service(service)) === undefined) {
    // The user pointed us at a file: they route it there, whatever the labels say.
    if (raw.traefikFile) return { kind: "file" };
    throw new RefusedError(
      `${svc.service} carries traefik labels but Traefik's API (${api.url}) has no service ${service}`,
      "run Traefik with --providers.docker (Docker socket mounted), make sure the containers are healthy, or name the service with --traefik-service",
    );
  }
  const mode: Mode = { kind: "labels", service, ...labelAddress(labels, service) };
  try {
    mode.drain = chooseDrain(
      c.Config.Healthcheck?.Test,
      {
        drainFile: opts.drainFile,
        allowUnsafe: opts.allowUnsafeDrain,
        ...(opts.drainCommand ? { drainCommand: opts.drainCommand } : {}),
        ...(labels[PRE_STOP_HOOK] ? { preStopHook: labels[PRE_STOP_HOOK] } : {}),
      },
      svc.service,
    );
  } catch (err) {
    if (!(err instanceof RefusedError)) throw err;
    mode.refusal = err;
  }
  return mode;
}

/**
 * A Swarm stack service (or a Swarm worker engine) is the Swarm engine's, not the compose
 * engine's: refused here with its first broken rule, before anything reads or changes the
 * compose case's containers. One that passes every rule is returned when the command has a Swarm
 * version (`handles`: roll, undo, repair, history, status), refused otherwise.
 */
export async function swarmTarget(
  docker: Docker,
  svc: { project: string; service: string },
  handles: boolean,
): Promise<SwarmFacts | undefined> {
  const facts = await detectSwarm(docker, svc);
  if (!facts) return undefined;
  const refused = swarmVerdict(facts);
  if (refused) throw new RefusedError(refused.message, refused.hint);
  if (handles) return facts;
  throw new RefusedError(
    `${describeSwarm(facts)}: on a Swarm, compose-roll rolls one service at a time to an image (--dry-run shows the plan), undoes it, repairs a killed run, syncs it and shows its history and status (no whole-stack release yet); nothing was changed`,
    "run `compose-roll <service> --image <ref>`, `undo`, `repair`, `history` or `status` against a manager; see docs/swarm.md",
  );
}
