// After a Swarm rollout or undo, the compose file the stack is deployed from must name the image
// that runs, or the next routine `docker stack deploy -c` of it puts the service back on the old
// one. The same write-back as on one host (compose/writeback.ts: the literal `image:` scalar, or
// its variable in the env file; links checked, atomic writes through exclusive temp files, under
// the files' write lock), planned before anything changes, so a ref that cannot be written is
// refused up front (exit 2). No compose file here, or none declaring the service: one line says
// so and nothing is written; the rollout itself does not depend on it.
import type { ComposeProject, WriteBackPlan } from "../controller/ports.js";

export interface SwarmWriteBackInput {
  compose: Pick<ComposeProject, "files" | "image" | "planWriteBack" | "rewrite">;
  /** The compose service (`web`, not `<stack>_web`). */
  service: string;
  /** What the files are to name: the ref rolled to, or the tag an undo goes back to. */
  ref: string;
  /** False: --no-write. */
  write: boolean;
  say(line: string): void;
}

export interface SwarmWriteBack {
  /** What will be written (for --dry-run); absent when nothing will be. */
  plan?: WriteBackPlan;
  /** One line for --dry-run: what happens to the files. */
  summary: string;
  /** After the service runs `ref`: write, and say what was written. Never throws. */
  settle(): Promise<void>;
}

/** Before any change: refused (RefusedError) when the files name the image in a way that cannot be written. */
export function prepareSwarmWriteBack(o: SwarmWriteBackInput): SwarmWriteBack {
  const { compose, service, ref } = o;
  const skip = (summary: string): SwarmWriteBack => ({ summary, settle: async () => o.say(summary) });
  if (compose.files.length === 0)
    return skip(
      `no compose file here, so none names ${ref}; run compose-roll from the stack's directory (or -f the file you deploy it with) to keep it in step`,
    );
  const named = compose.image(service);
  if (named === undefined)
    return skip(
      `${compose.files.join(", ")} declare no service ${service}, so none names ${ref}; nothing written (-f the file you deploy the stack with to keep it in step)`,
    );
  if (!o.write)
    return skip(
      `--no-write: the files still name ${named}, so \`docker stack deploy\` of them would put ${service} back on it`,
    );
  const plan = compose.planWriteBack(service, ref);
  for (const w of plan.warnings) o.say(`warning: ${w}`);
  if (plan.variable)
    o.say(
      `warning: ${service}'s image comes from \${${plan.variable}}: \`docker stack deploy\` reads it from the shell's environment only, never from an env file; export it there (or deploy \`docker compose config\`'s output)`,
    );
  return {
    plan,
    summary: plan.writes.length ? `would write ${plan.summary}` : `already say ${plan.summary}`,
    settle: async () => {
      try {
        // Planned again from the files as they are now, under their write lock.
        const fresh = await compose.rewrite(service, ref);
        o.say(
          `${fresh.writes.length ? "wrote" : "the files already say"} ${fresh.summary}: \`docker stack deploy\` of them keeps ${service} on it`,
        );
      } catch (err) {
        o.say(
          `warning: the rollout succeeded but the compose files were not updated: ${(err as Error).message}; set ${plan.summary} by hand`,
        );
      }
    },
  };
}

/**
 * After a repair that finished the interrupted run: the files are to name its target, as after
 * that rollout. A repair converges whatever the files say, so they were not planned before it, and
 * one that cannot be written is a warning here, never a refusal.
 */
export async function writeBackAfterRepair(o: SwarmWriteBackInput): Promise<void> {
  try {
    await prepareSwarmWriteBack(o).settle();
  } catch (err) {
    o.say(`warning: the compose files were not updated: ${(err as Error).message}`);
  }
}
