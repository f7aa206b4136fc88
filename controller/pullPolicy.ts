// When to pull: compose's `pull_policy` vocabulary (also what --pull takes) as one of ours.
import { RefusedError } from "./errors.js";
import type { PullPolicy } from "./ports.js";

/** `missing`: pull only when the image is not on the host (compose's default). */
export const PULL_POLICIES = ["missing", "always", "never"] as const satisfies readonly PullPolicy[];

/**
 * A compose `pull_policy` (or `--pull`) as one of ours. `if_not_present` is compose's
 * alias of `missing`. `daily`, `weekly` and `every_<duration>` need a record of the last
 * pull, which compose keeps and we do not: they act as `missing` (with a `note` for the
 * debug log). `build` is refused: compose-roll rolls to images, it never builds.
 */
export function pullPolicyOf(text: string, where: string): { policy: PullPolicy; note?: string } {
  const t = text.trim().toLowerCase();
  if (t === "missing" || t === "if_not_present") return { policy: "missing" };
  if (t === "always" || t === "never") return { policy: t };
  if (t === "daily" || t === "weekly" || /^every_(\d+(ms|s|m|h|d|w))+$/.test(t)) {
    return {
      policy: "missing",
      note: `${where} ${t}: compose-roll keeps no record of past pulls, so it pulls only a missing image (as "missing")`,
    };
  }
  if (t === "build") {
    throw new RefusedError(
      `${where} build: compose-roll does not build images`,
      "build and tag the image first (`docker compose build`), then pass it with --image and --pull never",
    );
  }
  throw new RefusedError(
    `${where}: "${text}" is not a pull policy`,
    "use missing (the default), always or never (compose's if_not_present, daily, weekly, every_<d> also work)",
  );
}
