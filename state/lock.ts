// The per-service lock on the Docker host: one never-started container with a fixed name,
// compose-roll-lock.<project>.<service>. Docker reserves container names atomically, so
// `POST /containers/create` is a test-and-set every runner on the host shares, with no file
// on the runner and no SSH. The holder's LockInfo is in the container's labels. It is
// created from the TARGET image, which also keeps that image from being pruned mid-rollout.
import { LockHeldError } from "../controller/errors.js";
import type { Lock, LockInfo, ServiceRef } from "../controller/ports.js";
import {
  createStateContainer,
  inspectState,
  removeStateContainer,
  type StateInspect,
  type StateOptions,
  warnDamaged,
} from "./containers.js";
import { decodeLock, encodeLock, lockBelongsTo, lockName } from "./labels.js";

/** Waits before each attempt to take the lock: ~1.6 s in all, far longer than a create takes. */
export const RETRY_MS: readonly number[] = [0, 25, 50, 100, 200, 400, 800];
const RETRY_TOTAL_MS = RETRY_MS.reduce((a, b) => a + b, 0);
// The global timer, not node:timers/promises, so tests can fake it.
const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));

export class DockerLock implements Lock {
  private readonly docker: StateOptions["docker"];
  private readonly onDamaged: NonNullable<StateOptions["onDamaged"]>;

  constructor(opts: StateOptions) {
    this.docker = opts.docker;
    this.onDamaged = opts.onDamaged ?? warnDamaged;
  }

  async acquire(
    svc: ServiceRef,
    info: LockInfo,
  ): Promise<{ acquired: true } | { acquired: false; holder: LockInfo }> {
    const name = lockName(svc);
    const labels = encodeLock(svc, info);
    const what = `take the lock of ${svc.project}/${svc.service} (container ${name})`;
    // A 409 followed by a 404 has two causes, both cured by trying again: the holder released
    // in between, or (measured on Docker 20.10, every time two runners race) the winner's
    // create is still running: Docker reserves the name first and only makes the container
    // inspectable ~10-20 ms later, once its filesystem layer exists.
    for (const delay of RETRY_MS) {
      if (delay) await sleep(delay);
      const made = await createStateContainer(this.docker, name, info.target.id, labels, what);
      if (made.created) return { acquired: true };
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

  async release(svc: ServiceRef, info?: LockInfo): Promise<void> {
    const name = lockName(svc);
    const what = `release the lock of ${svc.project}/${svc.service} (container ${name})`;
    if (!info) {
      await removeStateContainer(this.docker, name, what);
      return;
    }
    const c = await this.inspect(svc, name);
    // Gone, or taken over (a stale-lock break) by someone else: not ours to remove.
    if (!c || !lockBelongsTo(c.Config.Labels, info)) return;
    // By ID, not name: if it was released and re-taken since the inspect, the name now
    // belongs to a new holder and the ID no longer exists (404, ignored).
    await removeStateContainer(this.docker, c.Id, what);
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
    if (d.ok) return d.value;
    this.onDamaged(name, d.reason);
    throw new LockHeldError(
      `container ${name} holds the lock of ${svc.project}/${svc.service}, but its labels cannot be read (${d.reason})`,
      `if no rollout of this service is running, remove it: \`compose-roll lock release\` or \`docker rm ${name}\``,
    );
  }
}
