// Making Traefik's file match the running containers: `sync`, and the routing half of
// `repair`. Compose (or anyone) may have recreated, removed or restarted containers behind
// compose-roll's back, so nothing in the file is trusted: servers with no ready container
// go first, the ready containers not yet listed are proven through Traefik one by one, then
// the file lists exactly them.
import { RefusedError } from "../controller/errors.js";
import type { Replica } from "../controller/model.js";
import type { OwnedServers } from "../controller/ports.js";
import type { AppContext } from "./context.js";

/** Every running container must have an address Traefik can use, or we refuse now. */
export function checkAddresses(replicas: Replica[]): void {
  const lost = replicas.find((r) => r.running && !r.url);
  if (lost) {
    throw new RefusedError(
      `cannot tell which address Traefik uses for ${lost.name}: it is on several networks or exposes several ports`,
      "pass --network <the network Traefik shares with it> and/or --port <n>",
    );
  }
}

export interface SyncPlan {
  /** What the file should list in the end: one server per ready container. */
  servers: string[];
  /** Listed now and staying: nothing to prove. */
  kept: string[];
  /** Listed now with no ready container behind them. */
  dropped: string[];
  /** Not listed yet: each is proven through Traefik before users are sent to it. */
  added: string[];
}

/** Pure: the containers and the listed servers → what sync does. */
export function planSync(replicas: Replica[], listed: string[]): SyncPlan {
  const ready = replicas.filter((r) => r.running && (r.health === "healthy" || r.health === "none"));
  const servers = [...new Set(ready.map((r) => r.url as string))];
  return {
    servers,
    kept: listed.filter((u) => servers.includes(u)),
    dropped: listed.filter((u) => !servers.includes(u)),
    added: servers.filter((u) => !listed.includes(u)),
  };
}

export interface SyncResult extends SyncPlan {
  /** The file did not define the service; sync added it. */
  created: boolean;
  /** Traefik's API shows no router sending to the service. */
  unrouted: boolean;
}

/** What syncing needs: the containers, the list compose-roll owns, and somewhere to say what it does. */
export type SyncContext = Pick<AppContext, "deps" | "svc" | "opts" | "say">;

/** File mode only (the router's owned list): in label mode Traefik keeps the servers itself. */
export async function syncRoutes(
  ctx: SyncContext,
  owned: OwnedServers,
  signal: AbortSignal,
): Promise<SyncResult> {
  const { deps, svc, opts } = ctx;
  const { engine, router } = deps;
  const [replicas, listed] = await Promise.all([engine.replicas(svc), owned.listed()]);
  checkAddresses(replicas);
  const plan = planSync(replicas, listed ?? []);
  if (plan.servers.length === 0) {
    throw new RefusedError(
      `no healthy running container of ${svc.service} in project ${svc.project}`,
      "start the service (`docker compose up -d --wait`) and retry",
    );
  }
  const ms = opts.routeTimeoutMs;
  // 1. Servers with no container can only fail requests (an old IP may even reach whatever
  //    container took that address over): out before anything else, when one stays. If none
  //    stays, the final write replaces them; the file may never list no server at all.
  if (plan.dropped.length > 0 && plan.kept.length > 0) {
    ctx.say(`removing from Traefik, no ready container there: ${plan.dropped.join(", ")}`);
    await owned.setServers(plan.kept, ms, signal);
  }
  // 2. Each new server proven alone, through its own probe router, before users reach it.
  for (const url of plan.added) await router.verify(url, ms, signal);
  // 3. Exactly the ready containers.
  if (listed === undefined) ctx.say(`adding service ${owned.service} to ${owned.file}`);
  if (plan.dropped.length > 0 && plan.kept.length === 0)
    ctx.say(`replacing in Traefik, no ready container there: ${plan.dropped.join(", ")}`);
  await owned.setServers(plan.servers, ms, signal, { create: true });
  // Only a warning: the file is right either way, so an API hiccup here is no failure.
  const routed = await owned.routed(signal);
  return { ...plan, created: listed === undefined, unrouted: routed === false };
}

/**
 * `sync`: Traefik's file made to list exactly the running, ready containers. A router that
 * owns no list (label mode) needs none: undefined, nothing done.
 */
export async function sync(ctx: SyncContext): Promise<SyncResult | undefined> {
  const { owned } = ctx.deps.router;
  if (!owned) return undefined;
  const result = await syncRoutes(ctx, owned, new AbortController().signal);
  if (result.unrouted) ctx.say(unroutedWarning(owned.service, owned.file));
  ctx.deps.reporter.event({ type: "synced", service: ctx.svc.service, servers: result.servers });
  return result;
}

/** The line for a service no router sends to: sync succeeded, but no user reaches it yet. */
export function unroutedWarning(service: string, file: string): string {
  return `warning: no Traefik router uses ${service}@file, so no request reaches it yet; add one (e.g. rule: PathPrefix(\`/\`), service: ${service}@file) in a file next to ${file}`;
}
