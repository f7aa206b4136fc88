// Keeps the compose project true to what runs. Before a rollout: work out the config hash
// compose will expect once the files name the new ref (new containers carry it, so `up -d`
// recreates nothing), and refuse now if the ref cannot be written back. After a rollout
// that completed: write the ref where the project declares the image, and check with
// compose itself that the files and the containers agree.
import type { Replica } from "../controller/model.js";
import type { ComposeProject, Reporter, WriteBackPlan } from "../controller/ports.js";

export interface Truth {
  /** Labels for the new containers (the config hash compose will expect). */
  labels: Record<string, string>;
  /** compose's config hash for the new containers; unset without compose files. */
  config?: string;
  /**
   * Nothing but the image differs from what the running containers were created from, so a
   * clone of one of them with the new image is what compose would create. False: the files
   * changed the configuration (or compose cannot tell), so compose creates the new ones.
   */
  imageOnly: boolean;
  /** The write-back, when one will happen (for --dry-run). */
  plan?: WriteBackPlan;
  /** After a completed rollout: write and verify. Never throws: the rollout already succeeded. */
  settle(): Promise<void>;
}

export interface TruthInput {
  compose: ComposeProject;
  service: string;
  ref: string;
  write: boolean;
  running: Replica[];
  reporter: Reporter;
  say: (line: string) => void;
}

export async function prepareTruth(t: TruthInput): Promise<Truth> {
  const { compose, service, ref } = t;
  if (compose.files.length === 0) {
    return {
      labels: {},
      imageOnly: true,
      settle: async () =>
        t.reporter.event({
          type: "compose",
          result: "skipped",
          detail: `no compose file here, so none names ${ref}; run compose-roll from the project directory (or -f) to keep it in step`,
        }),
    };
  }
  // Refuses now, before any change, when the ref cannot be written back.
  const plan = t.write ? compose.planWriteBack(service, ref) : undefined;
  for (const w of plan?.warnings ?? []) t.say(`warning: ${w}`);
  // The hash the running containers would have if the files named their image: equal to
  // their label, the files changed nothing but the image since they were created.
  const runningRefs = [...new Set(t.running.map((r) => r.imageRef))];
  const [target, before] = await Promise.all([
    compose.hash(service, { ref }),
    runningRefs.length === 1 ? compose.hash(service, { ref: runningRefs[0] as string }) : undefined,
  ]);
  const labelled = [...new Set(t.running.flatMap((r) => (r.configHash ? [r.configHash] : [])))];
  const imageOnly = labelled.length === 1 && labelled[0] === before && t.running.every((r) => r.configHash);
  if (!imageOnly && t.running.length > 0) {
    t.say(
      `${service}'s configuration in the compose files differs from its running containers' (compose hashes it ${(before ?? target).slice(0, 12)}, they carry ${labelled.map((h) => h.slice(0, 12)).join(", ") || "none"}): compose creates the new containers`,
    );
  }
  const labels = { "com.docker.compose.config-hash": target };
  const settle = async () => {
    if (!plan) {
      t.reporter.event({
        type: "compose",
        result: "skipped",
        detail: `--no-write: the files still name ${compose.image(service) ?? "the old image"}, so \`docker compose up -d\` would recreate ${service} on it`,
      });
      return;
    }
    try {
      // Planned again from the files as they are now, under their write lock: someone may
      // have edited them meanwhile, another service's write-back among them (one .env).
      const fresh = await compose.rewrite(service, ref);
      const after = await compose.hash(service, fresh.variable ? { unset: fresh.variable } : {});
      const agrees = after === target;
      t.reporter.event({
        type: "compose",
        result: fresh.writes.length ? "written" : "unchanged",
        detail: `${fresh.writes.length ? "wrote" : "already says"} ${fresh.summary}; ${
          agrees
            ? "`docker compose up -d` keeps the running containers"
            : `but compose now hashes ${service} as ${after.slice(0, 12)}, not ${target.slice(0, 12)}: \`docker compose up -d\` would recreate it`
        }`,
      });
    } catch (err) {
      t.say(
        `warning: the rollout succeeded but the compose files were not updated: ${(err as Error).message}; set ${plan.summary} by hand`,
      );
    }
  };
  return { labels, config: target, imageOnly, ...(plan ? { plan } : {}), settle };
}
