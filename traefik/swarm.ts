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

  /**
   * Undefined when Traefik answers that it has no such balancer. An API that does not answer
   * (Traefik restarting) throws: what it routes is then unknown, never "none".
   */
  async servers(balancer: string, signal: AbortSignal): Promise<string[] | undefined> {
    return this.api.service(`${balancer}@swarm`, signal);
  }

  async probe(token: string, signal: AbortSignal): Promise<{ ok: boolean; detail: string }> {
    const v = await sendProbe(this.entrypoint, token, 2000, signal, this.http);
    return v.ok ? { ok: true, detail: `HTTP ${v.status}` } : { ok: false, detail: v.detail };
  }
}
