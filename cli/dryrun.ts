// `--dry-run`'s output: the settings with where each came from, then the plan app/dryrun.ts
// worked out, each step in the routing mode's own words.
import type { RolloutPlan } from "../app/dryrun.js";
import { describeLock } from "../app/lock.js";
import type { SwarmPlan } from "../app/swarm-dryrun.js";
import type { Routing } from "../controller/ports.js";
import { formatSmoke, formatWarmup, type SmokeSpec, type WarmupSpec } from "../engine/checkSpec.js";
import type { Options, RawOptions } from "./options.js";
import { rawKeyOf } from "./settings.js";
import { joinWords } from "./shellwords.js";

export interface DryRun extends RolloutPlan {
  settings: { key: string; value: string; from: string }[];
}

export function withSettings(plan: RolloutPlan, opts: Options, sources: Record<string, string>): DryRun {
  return {
    settings: Object.entries(sources).map(([key, from]) => ({ key, value: settingValue(opts, key), from })),
    ...plan,
  };
}

function settingValue(opts: Options, key: string): string {
  const camel = key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  const o = opts as unknown as Record<string, unknown>;
  const ms = o[`${camel}Ms`] ?? (camel === "lockStaleAfter" ? o.lockStaleMs : undefined);
  if (typeof ms === "number") return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  const v = o[camel];
  if (v === undefined || v === "") return "-";
  if (camel === "warmup") return (v as WarmupSpec[]).map(formatWarmup).join(", ") || "-";
  if (camel === "smoke") return (v as SmokeSpec[]).map(formatSmoke).join(", ") || "-";
  if (Array.isArray(v)) return joinWords(v as string[]); // a hook's argv
  return v instanceof URL ? v.href : String(v);
}

function settingLines(settings: DryRun["settings"]): string[] {
  const lines = [`dry run: nothing was changed`, "", "settings (value, from):"];
  for (const s of settings) lines.push(`  ${s.key.padEnd(18)} ${s.value.padEnd(40)} ${s.from}`);
  return lines;
}

/** What the Swarm rollout reads: on a Swarm only the command line sets them. */
const SWARM_SETTINGS = [
  "traefik-api",
  "traefik-url",
  "probe-path",
  "health-timeout",
  "route-timeout",
  "drain",
  "lock-stale-after",
  "history-limit",
] as const;

export function swarmSettings(raw: RawOptions, opts: Options): DryRun["settings"] {
  return SWARM_SETTINGS.map((key) => {
    const field = rawKeyOf(key);
    const given = field !== undefined && raw[field] !== undefined;
    return { key, value: settingValue(opts, key), from: given ? `--${key}` : "default" };
  });
}

export interface SwarmDryRun extends SwarmPlan {
  settings: DryRun["settings"];
  /** What happens to the compose files (a rollout's). */
  compose?: string;
  /** The service and what was detected of its Swarm. */
  engine: string;
}

export function formatSwarmDryRun(d: SwarmDryRun): string {
  const lines = settingLines(d.settings);
  const size = `${d.replicas} replica(s), ${d.peakTasks} tasks at peak`;
  lines.push(
    "",
    d.engine,
    d.repair
      ? `repair: the service on ${d.image.id}, ${size}`
      : `rollout: ${d.from.id} → ${d.image.ref} (${d.image.id}), ${size}`,
  );
  if (d.steps.length === 0)
    lines.push(
      d.repair
        ? "  nothing to repair: the service is in Traefik with its own labels, no stand-in and no lock left"
        : "  nothing to do: the service already runs this image with its own labels",
    );
  d.steps.forEach((s, i) => {
    lines.push(`  ${String(i + 1).padStart(2)}. ${s}`);
  });
  const verdict = d.repair?.lock ?? "a rollout now would refuse";
  lines.push("", d.lock ? `lock: held — ${describeLock(d.lock)} (${verdict})` : "lock: free");
  if (d.compose) lines.push(`compose files: ${d.compose}`);
  return `${lines.join("\n")}\n`;
}

export function formatDryRun(d: DryRun, routing: Routing): string {
  const lines = settingLines(d.settings);
  lines.push(
    "",
    `rollout: ${d.from?.ref ?? "(nothing running)"} → ${d.image.ref} (${d.image.id.slice(0, 19)}), ${d.replicas} replica(s)`,
  );
  if (d.created && d.steps.length) lines.push(`  new containers are created ${d.created}`);
  if (d.steps.length === 0) lines.push("  nothing to do: the service already runs this image");
  d.steps.forEach((s, i) => {
    const what =
      s.kind === "start"
        ? `start ${s.name} (${d.image.ref}) and wait until Docker says healthy`
        : s.kind === "route"
          ? `${routing.steps.route(s.name)}${d.bake ? `; then ${d.bake}` : ""}`
          : routing.steps.retire(s.name, s.image);
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
