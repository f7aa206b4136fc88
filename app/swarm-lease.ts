// The lease under a Swarm run's lock, as on one host (state/keeper.ts renews it every lease/6;
// state/swarm-lock.ts by a label update of the lock's config, stamped by the manager's clock).
// While it runs, every change to the cluster is fenced: it goes through only while the lock
// config is still the one this run created. A run that lost its lock (a waiter broke the lease
// it could not renew, or someone released it by hand) stops driving at its next change or wait
// and restores nothing: the service may be another run's now (exit 4).
import type { LockKeeping } from "../controller/ports.js";
import type { SwarmCluster } from "../controller/swarm-ports.js";
import type { StepsContext } from "./swarm-steps.js";

export type Lease = ReturnType<LockKeeping["keep"]>;

/** The calls that change the cluster: each waits for the fence first. */
const CHANGES = new Set<string | symbol>([
  "createStandIn",
  "setLabels",
  "replace",
  "putBack",
  "restore",
  "resubmit",
  "remove",
]);

export function fenced(cluster: SwarmCluster, fence: () => Promise<void>): SwarmCluster {
  return new Proxy(cluster, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (typeof v !== "function") return v;
      if (!CHANGES.has(prop)) return v.bind(target);
      return async (...args: unknown[]) => {
        await fence();
        return v.apply(target, args);
      };
    },
  });
}

/** `ctx` under `lease`: its loss ends the wait in hand, and each change to the cluster is fenced. */
export function underLease<C extends StepsContext>(ctx: C, lease: Lease | undefined): C {
  if (!lease) return ctx;
  return {
    ...ctx,
    cluster: fenced(ctx.cluster, lease.fence),
    signal: ctx.signal ? AbortSignal.any([ctx.signal, lease.signal]) : lease.signal,
  };
}
