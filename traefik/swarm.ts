// Traefik's view of a Swarm for the stand-in rollout: the servers of a load balancer its Swarm
// provider built (`<name>@swarm`), and one probe request through an entrypoint.
import type { SwarmRouting } from "../controller/swarm-ports.js";
import type { HostHttp } from "../host/hostio.js";
import type { TraefikApi } from "./api.js";
import { sendProbe } from "./probe.js";

export class SwarmTraefik implements SwarmRouting {
  constructor(
    private readonly api: TraefikApi,
    private readonly entrypoint: { url: string; path?: string },
    private readonly http?: HostHttp,
  ) {}

  /** Unreadable (Traefik restarting) reads as "not listed yet": the wait's deadline decides. */
  async servers(balancer: string, signal: AbortSignal): Promise<string[] | undefined> {
    return this.api.service(`${balancer}@swarm`, signal).catch(() => undefined);
  }

  async probe(token: string, signal: AbortSignal): Promise<{ ok: boolean; detail: string }> {
    const v = await sendProbe(this.entrypoint, token, 2000, signal, this.http);
    return v.ok ? { ok: true, detail: `HTTP ${v.status}` } : { ok: false, detail: v.detail };
  }
}
