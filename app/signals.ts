// What SIGINT and SIGTERM mean during a rollout: the first stops it after the step in hand
// and restores the previous image; later ones only say it is still restoring.
import { AbortedError } from "../controller/errors.js";

export interface Interruptible {
  readonly signal: AbortSignal;
  /** Stops the rollout for another reason (a crashed new container). */
  abort(reason: Error): void;
  /** Stops listening for signals. */
  dispose(): void;
}

export function interruptible(say: (line: string) => void): Interruptible {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return say(`${sig} again; still restoring, please wait`);
    say(`${sig}: stopping after this step and restoring the previous image`);
    controller.abort(new AbortedError(`interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
