// The LockKeeping port: the staleness rule (stale.ts), the lease keeper (keeper.ts) and
// this process's identity (proc.ts), over one Lock.
import type { Clock, Lock, LockKeeping } from "../controller/ports.js";
import { keepLease } from "./keeper.js";
import { pidAlive, selfTag } from "./proc.js";
import { human, isStale } from "./stale.js";

/** `clock` paces the renewals: real time in the CLI, not a test's clock that jumps on every sleep. */
export function lockKeeping(lock: Lock, clock: Clock): LockKeeping {
  return {
    self: () => selfTag(),
    stale: (holder, o) => isStale(holder, { ...o, alive: pidAlive }),
    leaseLeft: (holder, self) => {
      const { leaseMs, renewedAgoMs } = holder;
      if (leaseMs === undefined || renewedAgoMs === undefined || holder.by.host === self.host)
        return undefined;
      return human(Math.max(0, leaseMs - renewedAgoMs));
    },
    keep: (o) => keepLease({ lock, clock, ...o }),
  };
}
