// `--dry-run`: everything a rollout would do, worked out from what is observed now, with
// nothing changed: no lock, no container, no Traefik write, no compose write. The CLI adds
// the settings and prints it.
import { createTwoFilesPatch } from "diff";
import type { ImageInfo, Observation } from "../controller/model.js";
import { type PlannedStep, planRollout } from "../controller/plan.js";
import type { FileWrite } from "../controller/ports.js";
import { current } from "../controller/revisions.js";
import { replicaCount } from "../controller/rollout.js";
import type { AppContext } from "./context.js";
import type { Truth } from "./writeback.js";

export interface RolloutPlan {
  image: { ref: string; id: string };
  from?: { ref: string; id: string };
  replicas: number;
  /** How the new containers are made: by compose for the files, or cloned with the new image. */
  created?: string;
  steps: PlannedStep[];
  /** File mode: the owned file's diff. Label mode: how Traefik finds and drops containers. */
  traefik: { file: string; diff: string } | { labels: string };
  compose: { summary: string; diff: string; warnings: string[] } | { skipped: string };
  /** What each routed new replica waits for before an old one leaves: its bake. */
  bake?: string;
}

export async function planDryRun(
  ctx: Pick<AppContext, "opts" | "svc" | "deps" | "compose">,
  obs: Observation,
  image: ImageInfo,
  truth: Truth,
  shape: { replicas?: number; config?: string; create?: unknown } = {},
): Promise<RolloutPlan> {
  const now = current(obs);
  // As many as asked (--scale, deploy.replicas), else as many as the rollout restores to:
  // an exited container is a replica to replace too.
  const { bake, canary } = ctx.opts;
  const goal = {
    image,
    replicas: shape.replicas ?? replicaCount(obs),
    maxSurge: ctx.opts.maxSurge,
    ...(shape.config ? { config: shape.config } : {}),
    ...(bake ? { bake: true } : {}),
  };
  const name = (n: number) => `${ctx.svc.project}-${ctx.svc.service}-${n}`;
  const steps = planRollout(obs, goal, name);
  const { router } = ctx.deps;
  const { owned } = router;
  let traefik: RolloutPlan["traefik"];
  if (owned) {
    // Through the router: the file is wherever it lives (on the Docker host over ssh).
    const { before, after } = await owned.preview(survivors(obs, steps, name));
    traefik = { file: owned.file, diff: patch(owned.file, before, after) };
  } else {
    const routing = router.describe();
    traefik = { labels: `${routing.summary}; drain: ${routing.drain ?? "none (a rollout refuses)"}` };
  }
  return {
    image: { ref: image.ref, id: image.id },
    ...(now.image ? { from: now.image } : {}),
    replicas: goal.replicas,
    created: shape.create
      ? "by compose (the configuration changed)"
      : "as clones of a running container (only the image changed)",
    steps,
    ...(bake
      ? {
          bake: `bake it ${bake.bakeMs / 1000} s beside the old ones on real traffic${
            canary !== undefined && ctx.deps.router.weighs ? ` (the first at ${canary} % of it)` : ""
          }; roll back if its 5xx rate is over theirs by ${bake.maxErrorRate} points or its p99 over ${bake.maxLatencyRatio}× theirs`,
        }
      : {}),
    traefik,
    compose: truth.plan
      ? {
          summary: truth.plan.summary,
          // No context lines: the lines around an image are often secrets (API_TOKEN=... in
          // .env, environment: in the compose file), and plans land in CI logs.
          diff: truth.plan.writes.map((w: FileWrite) => patch(w.path, w.before, w.after, 0)).join(""),
          warnings: truth.plan.warnings,
        }
      : { skipped: ctx.compose.files.length ? "--no-write" : "no compose file found" },
  };
}

/**
 * The servers once the plan has run. A URL that names its container (Docker DNS) is known
 * in advance; where Traefik goes by IP, the new container's name stands in for the address
 * it will get when it starts.
 */
function survivors(obs: Observation, steps: PlannedStep[], name: (n: number) => string): string[] {
  const sample = obs.replicas.find((r) => r.url);
  const live = new Map(obs.replicas.flatMap((r) => (r.running && r.url ? [[r.name, r.url] as const] : [])));
  for (const s of steps) {
    if (s.kind === "start") live.set(s.name, predictedUrl(sample, name(s.number)));
    if (s.kind === "retire") live.delete(s.name);
  }
  return [...live.values()];
}

function predictedUrl(sample: { name: string; url?: string } | undefined, name: string): string {
  if (!sample?.url) return `http://${name}`;
  // By text, not new URL(): a short container ID of only digits is no IPv4 number.
  return sample.url.replace(/^(https?:\/\/)(\[[^\]]*\]|[^/:]+)/, `$1${name}`).replace(/\/$/, "");
}

function patch(path: string, before: string | undefined, after: string, context = 2): string {
  if ((before ?? "") === after) return "";
  return createTwoFilesPatch(path, path, before ?? "", after, before === undefined ? "(new file)" : "", "", {
    context,
  })
    .split("\n")
    .filter((l) => !/^=+$/.test(l))
    .join("\n");
}
