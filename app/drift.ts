// Drift: how the service differs from what a rollout leaves behind (every container
// running, healthy and in Traefik, on one image). `status` shows it; sync or repair fix it.
import type { Observation } from "../controller/model.js";

/** Drift: what makes the service differ from "every container healthy, in Traefik, one image". */
export function drift(obs: Observation): string[] {
  const routed = new Set(obs.routed);
  const found: string[] = [];
  for (const r of obs.replicas) {
    if (r.running && r.url && !routed.has(r.url))
      found.push(`${r.name} runs but Traefik does not route to it`);
    if (!r.running) found.push(`${r.name} is not running (exit ${r.exitCode ?? "?"})`);
    else if (r.health === "unhealthy") found.push(`${r.name} is unhealthy`);
  }
  const known = new Set(obs.replicas.map((r) => r.url));
  for (const url of obs.routed)
    if (!known.has(url)) found.push(`Traefik routes to ${url}, but no container is there`);
  const images = new Set(obs.replicas.filter((r) => r.running).map((r) => r.imageRef));
  if (images.size > 1) found.push(`mixed versions: ${[...images].join(", ")}`);
  return found;
}
