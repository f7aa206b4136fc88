// Old containers that are already out of Traefik drain and stop in the background, so the
// next replica boots meanwhile: a drain costs the rollout nothing but resources. Like
// Kubernetes' terminating pods, they no longer count towards the surge, and the loop
// hides them from decide() so nothing decides about them twice.
export class Drains {
  private readonly tasks = new Map<string, Promise<void>>();
  private failure: Error | undefined;

  get size(): number {
    return this.tasks.size;
  }

  /**
   * The containers draining now, as a copy. The loop takes it BEFORE it observes: a drain that
   * ends during the observation (its container seen stopped, then removed) must still be
   * hidden, or the loop sees an exited container of the old image; a restore, whose goal that
   * image is, would call it a failed replica and give up.
   */
  snapshot(): ReadonlySet<string> {
    return new Set(this.tasks.keys());
  }

  start(containerId: string, work: () => Promise<void>): void {
    const task = work()
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => this.tasks.delete(containerId));
    this.tasks.set(containerId, task);
  }

  /** Rethrows the first background failure, so the loop fails (and restores) on it. */
  check(): void {
    if (this.failure) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
  }

  /** Waits for every drain in progress, then rethrows a failure if one happened. */
  async settle(): Promise<void> {
    await Promise.all(this.tasks.values());
    this.check();
  }
}
