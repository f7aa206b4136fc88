// The per-service lock on a Swarm: one config named compose-roll-lock.<stack>.<service> in the
// cluster's store, reached through any manager. Creating it is the test-and-set (a second
// runner gets 409, on whichever manager it asks); the holder's LockInfo is in its labels, as on a
// single host (state/labels.ts). The lease is renewed by updating the config's labels with the
// version last read: the manager stamps UpdatedAt with its clock, and a waiter compares that with
// the manager's clock too. A lock broken and re-taken is a new config with a new ID, so the holder's
// next fence or renewal sees it is no longer its own.
import type Docker from "dockerode";
import { LockHeldError } from "../controller/errors.js";
import type { Lock, LockInfo, ServiceRef } from "../controller/ports.js";
import { hostNow } from "../engine/docker.js";
import { cutOff } from "../engine/guard.js";
import { type StateOptions, warnDamaged } from "./containers.js";
import { decodeLock, encodeLock, LeaseLabel, lockBelongsTo, lockName } from "./labels.js";
import { RETRY_MS } from "./lock.js";
import {
  createConfig,
  inspectConfig,
  removeConfig,
  type StateConfig,
  updateLabels,
} from "./swarm-configs.js";

const key = (svc: ServiceRef) => `${svc.project}/${svc.service}`;
const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));

export class SwarmLock implements Lock {
  private readonly docker: Docker;
  private readonly onDamaged: NonNullable<StateOptions["onDamaged"]>;
  /** The locks this process took: their config IDs and lease generation. */
  private readonly held = new Map<string, { id: string; gen: number }>();

  constructor(opts: StateOptions) {
    this.docker = opts.docker;
    this.onDamaged = opts.onDamaged ?? warnDamaged;
  }

  async acquire(
    svc: ServiceRef,
    info: LockInfo,
  ): Promise<{ acquired: true } | { acquired: false; holder: LockInfo }> {
    const name = lockName(svc);
    const what = `take the lock of ${svc.project}/${svc.service} (Swarm config ${name})`;
    // A 409 then a 404: the holder released in between; try again.
    for (const delay of RETRY_MS) {
      if (delay) await sleep(delay);
      const made = await createConfig(this.docker, name, encodeLock(svc, info), JSON.stringify(info), what);
      if (made.created) {
        this.held.set(key(svc), { id: made.id, gen: 0 });
        return { acquired: true };
      }
      const holder = await this.holder(svc, name);
      if (holder) return { acquired: false, holder };
    }
    throw new LockHeldError(
      `the lock of ${svc.project}/${svc.service} is taken, but its holder could not be read`,
      `another rollout is starting or stopping right now; retry, or see \`docker config inspect ${name}\``,
    );
  }

  read(svc: ServiceRef): Promise<LockInfo | undefined> {
    return this.holder(svc, lockName(svc));
  }

  /** One renewal: the lock's labels updated at the version read, if it is still ours. */
  async renew(svc: ServiceRef, _info: LockInfo): Promise<boolean> {
    const mine = this.held.get(key(svc));
    if (!mine) return false;
    const what = `renew the lock lease of ${svc.project}/${svc.service}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const c = await this.inspect(svc);
      if (c?.ID !== mine.id) break;
      const labels = { ...c.Spec.Labels, [LeaseLabel.gen]: String(mine.gen + 1) };
      if (await updateLabels(this.docker, c, labels, what)) {
        mine.gen++;
        return true;
      }
    }
    this.held.delete(key(svc));
    return false;
  }

  /** The fencing check before each change: the lock config is still the one we created. */
  async holds(svc: ServiceRef): Promise<boolean> {
    const mine = this.held.get(key(svc));
    if (!mine) return false;
    return (await this.inspect(svc))?.ID === mine.id;
  }

  abandon(svc: ServiceRef, why: Error): void {
    this.held.delete(key(svc));
    cutOff(this.docker, why);
  }

  async release(svc: ServiceRef, info?: LockInfo): Promise<void> {
    const name = lockName(svc);
    const what = `release the lock of ${svc.project}/${svc.service} (Swarm config ${name})`;
    if (!info) {
      await removeConfig(this.docker, name, what);
      return;
    }
    const c = await this.inspect(svc);
    // Gone, or taken over (a stale-lock break) by someone else: not ours to remove.
    if (!c || !lockBelongsTo(c.Spec.Labels, info)) return;
    if (this.held.get(key(svc))?.id === c.ID) this.held.delete(key(svc));
    // By ID: if it was released and re-taken since the inspect, the name is a new holder's.
    await removeConfig(this.docker, c.ID, what);
  }

  private inspect(svc: ServiceRef): Promise<StateConfig | undefined> {
    const name = lockName(svc);
    return inspectConfig(
      this.docker,
      name,
      `read the lock of ${svc.project}/${svc.service} (Swarm config ${name})`,
    );
  }

  /** The holder, undefined when unlocked; a lock whose labels cannot be read is still held. */
  private async holder(svc: ServiceRef, name: string): Promise<LockInfo | undefined> {
    const c = await this.inspect(svc);
    if (!c) return undefined;
    const d = decodeLock(svc, c.Spec.Labels);
    if (d.ok) {
      if (d.value.leaseMs === undefined) return d.value;
      return { ...d.value, renewedAgoMs: (await hostNow(this.docker)) - Date.parse(c.UpdatedAt) };
    }
    this.onDamaged(name, d.reason);
    throw new LockHeldError(
      `Swarm config ${name} holds the lock of ${svc.project}/${svc.service}, but its labels cannot be read (${d.reason})`,
      `if no rollout of this service is running, remove it: \`compose-roll lock release\` or \`docker config rm ${name}\``,
    );
  }
}
