// The per-service lock on the Docker host: one never-started container with a fixed name,
// compose-roll-lock.<project>.<service>. Docker reserves container names atomically, so
// `POST /containers/create` is a test-and-set every runner on the host shares, with no file
// on the runner and no SSH. The holder's LockInfo is in the container's labels. It is
// created from the TARGET image, which also keeps that image from being pruned mid-rollout.
// The holder renews a lease on it while it lives (state/lease.ts), so a dead holder on
// another host is recognised within one lease, on the Docker host's clock.
import { LockHeldError } from "../controller/errors.js";
import type { Lock, LockInfo, ServiceRef } from "../controller/ports.js";
import { cutOff } from "../engine/guard.js";
import { claimFiles, dropClaims, type FileRef } from "./claims.js";
import {
  createStateContainer,
  inspectState,
  removeStateContainer,
  type StateInspect,
  type StateOptions,
  warnDamaged,
} from "./containers.js";
import { decodeLock, encodeLock, lockBelongsTo, lockName } from "./labels.js";
import { dropRenewals, hostNow, lastRenewed, renew, renewals } from "./lease.js";

const key = (svc: ServiceRef) => `${svc.project}/${svc.service}`;

/** Waits before each attempt to take the lock: ~1.6 s in all, far longer than a create takes. */
export const RETRY_MS: readonly number[] = [0, 25, 50, 100, 200, 400, 800];
const RETRY_TOTAL_MS = RETRY_MS.reduce((a, b) => a + b, 0);
// The global timer, not node:timers/promises, so tests can fake it.
const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));

export class DockerLock implements Lock {
  private readonly docker: StateOptions["docker"];
  private readonly onDamaged: NonNullable<StateOptions["onDamaged"]>;
  /** The locks this process took: their container IDs and newest lease renewal. */
  private readonly held = new Map<string, { lockId: string; gen: number; renewal?: string }>();
  /** Files the rollouts of this process write that other services' rollouts may write too (state/claims.ts). */
  private readonly files: FileRef[];

  constructor(opts: StateOptions & { files?: FileRef[] }) {
    this.docker = opts.docker;
    this.onDamaged = opts.onDamaged ?? warnDamaged;
    this.files = opts.files ?? [];
  }

  async acquire(
    svc: ServiceRef,
    info: LockInfo,
  ): Promise<{ acquired: true } | { acquired: false; holder: LockInfo }> {
    const name = lockName(svc);
    const labels = encodeLock(svc, info);
    const what = `take the lock of ${svc.project}/${svc.service} (container ${name})`;
    // A 409 followed by a 404 has two causes, both cured by trying again: the holder released
    // in between, or (whenever two runners race) the winner's create is still running: Docker
    // reserves the name first and only makes the container inspectable once its filesystem
    // layer exists, milliseconds later.
    for (const delay of RETRY_MS) {
      if (delay) await sleep(delay);
      const made = await createStateContainer(this.docker, name, info.target.id, labels, what);
      if (made.created) {
        await claimFiles(this.docker, svc, this.files, made.id, info.target.id).catch(async (err: Error) => {
          await removeStateContainer(this.docker, made.id, what).catch(() => {});
          throw err;
        });
        this.held.set(key(svc), { lockId: made.id, gen: 0 });
        // Renewals of locks that are gone (a holder killed before it could clean up).
        await dropRenewals(this.docker, svc, { notOf: made.id }).catch(() => {});
        return { acquired: true };
      }
      const holder = await this.holder(svc, name);
      if (holder) return { acquired: false, holder };
    }
    throw new LockHeldError(
      `the lock of ${svc.project}/${svc.service} is taken, but its holder could not be read for ${RETRY_TOTAL_MS / 1000}s`,
      `another rollout is starting or stopping right now; retry, or see \`docker ps -a --filter name=${name}\``,
    );
  }

  async read(svc: ServiceRef): Promise<LockInfo | undefined> {
    return this.holder(svc, lockName(svc));
  }

  /**
   * One renewal: a new lease container, then the previous one removed, then the lock checked
   * to still be ours. In that order: a waiter that breaks the lock after our check sees a
   * renewal younger than the lease, and one that broke it before is caught by the check.
   */
  async renew(svc: ServiceRef, info: LockInfo): Promise<boolean> {
    const mine = this.held.get(key(svc));
    if (!mine) return false;
    const made = await renew(this.docker, svc, mine.lockId, mine.gen + 1, info.target.id);
    const what = `remove an old lease renewal of ${svc.project}/${svc.service}`;
    if (mine.renewal) await removeStateContainer(this.docker, mine.renewal, what).catch(() => {});
    Object.assign(mine, { gen: made.gen, renewal: made.id });
    const c = await this.inspect(svc, lockName(svc));
    if (c?.Id === mine.lockId) return true;
    this.held.delete(key(svc));
    await removeStateContainer(this.docker, made.id, what).catch(() => {});
    return false;
  }

  /** The fencing check before each change: the lock container is still the one we created. */
  async holds(svc: ServiceRef): Promise<boolean> {
    const mine = this.held.get(key(svc));
    if (!mine) return false;
    return (await this.inspect(svc, lockName(svc)))?.Id === mine.lockId;
  }

  abandon(svc: ServiceRef, why: Error): void {
    this.held.delete(key(svc));
    cutOff(this.docker, why);
  }

  async release(svc: ServiceRef, info?: LockInfo): Promise<void> {
    const name = lockName(svc);
    const what = `release the lock of ${svc.project}/${svc.service} (container ${name})`;
    if (!info) {
      await removeStateContainer(this.docker, name, what);
      await dropRenewals(this.docker, svc, { notOf: "" });
      return;
    }
    const c = await this.inspect(svc, name);
    // Gone, or taken over (a stale-lock break) by someone else: not ours to remove.
    if (!c || !lockBelongsTo(c.Config.Labels, info)) return;
    if (this.held.get(key(svc))?.lockId === c.Id) this.held.delete(key(svc));
    // By ID, not name: if it was released and re-taken since the inspect, the name now
    // belongs to a new holder and the ID no longer exists (404, ignored).
    await removeStateContainer(this.docker, c.Id, what);
    await dropRenewals(this.docker, svc, { of: c.Id }).catch(() => {});
    await dropClaims(this.docker, c.Id).catch(() => {});
  }

  private inspect(svc: ServiceRef, name: string): Promise<StateInspect | undefined> {
    return inspectState(
      this.docker,
      name,
      `read the lock of ${svc.project}/${svc.service} (container ${name})`,
    );
  }

  /** The holder, undefined when unlocked; a lock whose labels cannot be read is still held. */
  private async holder(svc: ServiceRef, name: string): Promise<LockInfo | undefined> {
    const c = await this.inspect(svc, name);
    if (!c) return undefined;
    const d = decodeLock(svc, c.Config.Labels);
    if (d.ok) {
      if (d.value.leaseMs === undefined) return d.value;
      const [now, all] = await Promise.all([hostNow(this.docker), renewals(this.docker, svc)]);
      return { ...d.value, renewedAgoMs: now - lastRenewed(all, c.Id, Date.parse(c.Created)) };
    }
    this.onDamaged(name, d.reason);
    throw new LockHeldError(
      `container ${name} holds the lock of ${svc.project}/${svc.service}, but its labels cannot be read (${d.reason})`,
      `if no rollout of this service is running, remove it: \`compose-roll lock release\` or \`docker rm ${name}\``,
    );
  }
}
