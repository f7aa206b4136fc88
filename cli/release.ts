// `compose-roll up [SERVICE...]`: opens the project's context, asks compose what `up -d`
// would change (compose/changes.ts) and reads each service's policy (compose/policies.ts),
// plans the release (controller/release.ts), prints it with --dry-run, else runs it
// (app/release.ts): routed services through the single-service rollout, each in its own
// context as `compose-roll <service>` opens it; workers through compose and the Engine API.
import { release } from "../app/release.js";
import { composeChanges } from "../compose/changes.js";
import { serviceFacts } from "../compose/policies.js";
import { planRelease, type ReleasePlan } from "../controller/release.js";
import { serviceConfigs } from "../engine/configs.js";
import { dockerWorkers } from "../engine/workers.js";
import { openContext } from "./context.js";
import type { RawOptions } from "./options.js";

export async function upCommand(services: string[], raw: RawOptions): Promise<void> {
  const ctx = await openContext(services[0], raw, { traefik: false, writeBack: true, project: true });
  const { project, env, opts } = ctx;
  const [facts, changes] = await Promise.all([
    serviceFacts(project, env),
    composeChanges(project, env, serviceConfigs(ctx.docker, project.name)),
  ]);
  const plan = planRelease({
    file: project.files.join(", ") || "the compose files",
    facts,
    changes,
    named: services,
    skip: opts.skip,
    force: opts.force,
    settleMs: opts.settleMs,
    ...(opts.image ? { image: opts.image } : {}),
  });
  if (opts.dryRun) {
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ type: "release-plan", project: project.name, ...plan })}\n`
        : formatPlan(project.name, plan, opts.image),
    );
    return;
  }
  const compose = ctx.app.compose;
  const out = await release(
    {
      base: ctx.app,
      routed: async (service) =>
        (await openContext(service, { ...raw, image: raw.image }, { traefik: true, writeBack: true })).app,
      workers: dockerWorkers(ctx.docker, project.name, compose),
      ...(opts.image ? { image: opts.image } : {}),
    },
    plan,
  );
  if (opts.json) process.stdout.write(`${JSON.stringify({ type: "release", ...out })}\n`);
  else if (out.rolled.length) ctx.say(`release ${out.id}: ${out.rolled.join(", ")} rolled`);
}

/** The plan as `--dry-run` prints it: per service what changed, its policy, the steps, the write-back. */
export function formatPlan(project: string, plan: ReleasePlan, image?: string): string {
  const lines = [
    `release plan for ${project} (what \`docker compose up -d\` would change, rolled without downtime):`,
  ];
  plan.services.forEach((p, i) => {
    lines.push(`  ${i + 1}. ${p.service}: ${p.what.join(", ") || p.action}`);
    lines.push(`     policy: ${p.policy} (${p.why})`);
    if (p.policy !== "routed") {
      const u = p.update;
      lines.push(
        `     update_config: parallelism ${u.parallelism}, delay ${u.delayMs / 1000}s, order ${u.order}, failure_action ${u.failureAction}, monitor ${u.monitorMs / 1000}s, max_failure_ratio ${u.maxFailureRatio}`,
      );
    }
    for (const s of p.steps) lines.push(`     - ${s}`);
    for (const w of p.warnings) lines.push(`     warning: ${w}`);
    lines.push(
      `     write-back: ${image ? `${image} into the files that declare ${p.service}'s image` : "none (the files already say it)"}`,
    );
    if (i === plan.services.findLastIndex((x) => x.policy === "routed") && i < plan.services.length - 1)
      lines.push("     -- barrier: the web tier is complete before any worker changes --");
  });
  if (plan.services.length === 0) lines.push("  nothing to roll");
  for (const h of plan.held) lines.push(`  held: ${h.line}`);
  if (plan.unchanged.length) lines.push(`  unchanged: ${plan.unchanged.join(", ")}`);
  lines.push("  if any service fails, every service already changed goes back, last changed first (exit 5)");
  return `${lines.join("\n")}\n`;
}
