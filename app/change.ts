// What a rollout changes, worked out before anything changes: the replica count it converges
// to, whether the service already is what the files (and --image) describe, and, in label
// mode, a change of Traefik labels that would make Traefik drop the service mid-rollout.
import { RefusedError } from "../controller/errors.js";
import type { ImageInfo, Observation, Replica } from "../controller/model.js";
import { replicaCount } from "../controller/rollout.js";
import { type ReplicaTarget, replicaTarget } from "../controller/scale.js";
import type { AppContext } from "./context.js";

/** `--scale`, else the files' deploy.replicas, else as many as there are. */
export function targetCount(
  ctx: Pick<AppContext, "opts" | "compose" | "svc">,
  obs: Observation,
): ReplicaTarget {
  const declared = ctx.compose.files.length ? ctx.compose.replicas(ctx.svc.service) : undefined;
  return replicaTarget({
    running: replicaCount(obs),
    ...(ctx.opts.scale !== undefined ? { scale: ctx.opts.scale } : {}),
    ...(declared !== undefined ? { declared } : {}),
  });
}

/**
 * Every container runs `image` with the config hash compose gives the service now, as many as
 * asked, all in Traefik: `docker compose up -d` would change nothing, and neither do we.
 */
export function alreadyThere(
  obs: Observation,
  image: ImageInfo,
  config: string | undefined,
  n: number,
): boolean {
  const ok = (r: Replica) =>
    r.running && r.imageId === image.id && (config === undefined || r.configHash === config) && r.url;
  const routed = new Set(obs.routed);
  return obs.replicas.length === n && obs.replicas.every((r) => ok(r) && routed.has(r.url as string));
}

/**
 * Traefik's Docker provider drops a router or service whose containers disagree on its labels
 * (pkg/provider/merge.go): old and new side by side with different `traefik.*` labels would
 * serve 404s for the whole rollout. Refused before anything changes.
 */
export function checkTraefikLabels(service: string, running: Replica[], files: Record<string, string>): void {
  const wanted = Object.fromEntries(Object.entries(files).filter(([k]) => k.startsWith("traefik.")));
  for (const r of running) {
    const had = r.traefikLabels ?? {};
    const keys = [...new Set([...Object.keys(had), ...Object.keys(wanted)])].sort();
    const changed = keys.filter((k) => had[k] !== wanted[k]);
    if (changed.length === 0) continue;
    const first = changed[0] as string;
    throw new RefusedError(
      `${service}'s Traefik labels in the compose files differ from ${r.name}'s (${first}: ${had[first] ?? "(none)"} → ${wanted[first] ?? "(none)"}${changed.length > 1 ? `, and ${changed.length - 1} more` : ""}): Traefik drops a router or service whose containers disagree, so old and new side by side would answer 404`,
      "roll with the running containers' Traefik labels first; then change them under new router and service names (both serve while old and new overlap), or with `docker compose up -d` in a maintenance window",
    );
  }
}
