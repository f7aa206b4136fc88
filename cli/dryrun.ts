// `--dry-run`: everything a rollout would do, worked out from what is observed now and
// printed, with nothing changed: no lock, no container, no Traefik write, no compose write.

import { createTwoFilesPatch } from "diff";
import type { FileWrite } from "../compose/writeback.js";
import type { ImageInfo, Observation } from "../controller/model.js";
import { type PlannedStep, planRollout } from "../controller/plan.js";
import { current } from "../controller/revisions.js";
import { replicaCount } from "../controller/rollout.js";
import { formatSmoke, formatWarmup, type SmokeSpec, type WarmupSpec } from "../engine/checkSpec.js";
import { setServers } from "../traefik/file.js";
import { describeDrain } from "../traefik/labels.js";
import type { Context } from "./context.js";
import { describeMode } from "./mode.js";
import { joinWords } from "./shellwords.js";
import type { Truth } from "./truth.js";

export interface DryRun {
  settings: { key: string; value: string; from: string }[];
  image: { ref: string; id: string };
  from?: { ref: string; id: string };
  replicas: number;
  steps: PlannedStep[];
  /** File mode: the owned file's diff. Label mode: how Traefik finds and drops containers. */
  traefik: { file: string; diff: string } | { labels: string };
  compose: { summary: string; diff: string; warnings: string[] } | { skipped: string };
}

export async function dryRun(
  ctx: Context,
  obs: Observation,
  image: ImageInfo,
  truth: Truth,
): Promise<DryRun> {
  const now = current(obs);
  // As many as the rollout restores to: an exited container is a replica to replace too.
  const goal = { image, replicas: replicaCount(obs), maxSurge: ctx.opts.maxSurge };
  const name = (n: number) => `${ctx.svc.project}-${ctx.svc.service}-${n}`;
  const steps = planRollout(obs, goal, name);
  const after = survivors(obs, steps, name);
  const file = ctx.opts.traefikFile;
  const traefik =
    ctx.mode.kind === "labels"
      ? {
          labels: `${describeMode(ctx.mode)}; drain: ${ctx.mode.drain ? describeDrain(ctx.mode.drain) : "none (a rollout refuses)"}`,
        }
      : await fileDiff(ctx, file, ctx.opts.traefikService, after);
  return {
    settings: Object.entries(ctx.sources).map(([key, from]) => ({
      key,
      value: settingValue(ctx, key),
      from,
    })),
    image: { ref: image.ref, id: image.id },
    ...(now.image ? { from: now.image } : {}),
    replicas: goal.replicas,
    steps,
    traefik,
    compose: truth.plan
      ? {
          summary: truth.plan.summary,
          // No context lines: the lines around an image are often secrets (API_TOKEN=... in
          // .env, environment: in the compose file), and plans land in CI logs.
          diff: truth.plan.writes.map((w: FileWrite) => patch(w.path, w.before, w.after, 0)).join(""),
          warnings: truth.plan.warnings,
        }
      : { skipped: ctx.project.files.length ? "--no-write" : "no compose file found" },
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

async function fileDiff(ctx: Context, file: string, service: string, after: string[]) {
  // Through the router: the file is wherever it lives (on the Docker host over ssh).
  const before = "text" in ctx.deps.router ? await ctx.deps.router.text() : undefined;
  return { file, diff: patch(file, before, setServers(before, service, after, file)) };
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

function settingValue(ctx: Context, key: string): string {
  const camel = key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  const o = ctx.opts as unknown as Record<string, unknown>;
  const ms = o[`${camel}Ms`] ?? (camel === "lockStaleAfter" ? o.lockStaleMs : undefined);
  if (typeof ms === "number") return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  const v = o[camel];
  if (v === undefined || v === "") return "-";
  if (camel === "warmup") return (v as WarmupSpec[]).map(formatWarmup).join(", ") || "-";
  if (camel === "smoke") return (v as SmokeSpec[]).map(formatSmoke).join(", ") || "-";
  if (Array.isArray(v)) return joinWords(v as string[]); // a hook's argv
  return v instanceof URL ? v.href : String(v);
}

export function formatDryRun(d: DryRun): string {
  const lines = [`dry run: nothing was changed`, "", "settings (value, from):"];
  for (const s of d.settings) lines.push(`  ${s.key.padEnd(18)} ${s.value.padEnd(40)} ${s.from}`);
  lines.push(
    "",
    `rollout: ${d.from?.ref ?? "(nothing running)"} → ${d.image.ref} (${d.image.id.slice(0, 19)}), ${d.replicas} replica(s)`,
  );
  if (d.steps.length === 0) lines.push("  nothing to do: the service already runs this image");
  d.steps.forEach((s, i) => {
    const what =
      s.kind === "start"
        ? `start ${s.name} (${d.image.ref}) and wait until Docker says healthy`
        : s.kind === "route"
          ? `prove ${s.name} answers through Traefik, then add it to Traefik`
          : `take ${s.name} (${s.image}) out of Traefik, drain, stop and remove it`;
    lines.push(`  ${String(i + 1).padStart(2)}. ${what}`);
  });
  if ("labels" in d.traefik) lines.push("", `Traefik: ${d.traefik.labels}`);
  else lines.push("", `Traefik file ${d.traefik.file}:`, d.traefik.diff || "  (unchanged)");
  if ("skipped" in d.compose) lines.push(`compose files: not updated (${d.compose.skipped})`);
  else {
    lines.push(`compose files: ${d.compose.summary}`, d.compose.diff || "  (already say so)");
    for (const w of d.compose.warnings) lines.push(`warning: ${w}`);
  }
  return `${lines.join("\n")}\n`;
}
