// Deploy hooks around a rollout, each a one-off container of the NEW image with the service's
// configuration (engine/oneoff.ts): the migration gate and the pre-deploy hook before any
// container changes (under the lock), the post-deploy hook after a complete rollout. Every
// failure before the rollout is a PreDeployError (exit 6): the service, the Traefik file and
// the compose files are untouched. A failed post-deploy hook is reported (exit 8) and rolls
// nothing back: the new release already serves everyone.
import { AbortedError, ComposeRollError, PostDeployError, PreDeployError } from "../controller/errors.js";
import {
  describe as describeFindings,
  judge,
  migrateCommand,
  needsSql,
  parsePlan,
  sqlKey,
} from "../controller/gate.js";
import type { ImageInfo } from "../controller/model.js";
import type { ReplicaTemplate, TaskName, TaskResult } from "../controller/ports.js";
import { joinWords } from "../controller/shellwords.js";
import type { AppContext } from "./context.js";

/** What the hooks need of a use case's context. */
export type HookContext = Pick<AppContext, "opts" | "deps" | "svc" | "tasks">;

/** The configuration one-offs copy: the lowest-numbered running replica, as the rollout's clones do. */
async function templateOf(ctx: HookContext): Promise<ReplicaTemplate> {
  const running = (await ctx.deps.engine.replicas(ctx.svc)).filter((r) => r.running);
  const first = running.sort((a, b) => a.number - b.number)[0];
  if (!first) {
    throw new PreDeployError(
      `service ${ctx.svc.service} has no running container to copy the hook's configuration from; nothing changed`,
      "start it with `docker compose up -d`, then rerun",
    );
  }
  return ctx.deps.engine.template(first.id);
}

/** Runs one hook command, streaming its output as events; never throws for a non-zero exit. */
async function runTask(
  ctx: HookContext,
  template: ReplicaTemplate,
  image: ImageInfo,
  hook: TaskName,
  argv: string[],
  timeoutMs: number,
  signal: AbortSignal,
  quiet = false,
): Promise<TaskResult> {
  const { reporter } = ctx.deps;
  if (!quiet) reporter.event({ type: "hook", hook, state: "running", argv });
  const res = await ctx.tasks.run(template, image, argv, {
    task: hook,
    timeoutMs,
    signal,
    ...(quiet ? {} : { onLine: (line, stream) => reporter.event({ type: "output", hook, stream, line }) }),
  });
  if (!quiet || res.exitCode !== 0) {
    reporter.event({
      type: "hook",
      hook,
      state: res.exitCode === 0 ? "succeeded" : "failed",
      argv,
      exitCode: res.exitCode,
      seconds: Math.round(res.seconds * 10) / 10,
    });
  }
  return res;
}

/** Gate, then the pre-deploy hook. Called by deploy() under the lock, before any change. */
export async function preDeploy(ctx: HookContext, image: ImageInfo, signal: AbortSignal): Promise<void> {
  const argv = ctx.opts.preDeploy;
  if (!argv) return;
  const what = `pre-deploy hook \`${joinWords(argv)}\``;
  try {
    const template = await templateOf(ctx);
    await gate(ctx, template, image, argv, signal);
    const res = await runTask(ctx, template, image, "pre-deploy", argv, ctx.opts.preDeployTimeoutMs, signal);
    if (res.exitCode !== 0) {
      throw new PreDeployError(
        `${what} failed with exit code ${res.exitCode}${res.lastError ? ` (${res.lastError})` : ""}; nothing changed, ${ctx.svc.service} still runs its current image`,
        "see the hook's output above (prefixed `pre-deploy |`), fix it and rerun",
      );
    }
  } catch (err) {
    throw asPreDeploy(err, what);
  }
}

/** Anything that stops the pre-deploy phase is exit 6, saying nothing changed. */
function asPreDeploy(err: unknown, what: string): PreDeployError {
  if (err instanceof PreDeployError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const cause = err instanceof AbortedError ? "interrupted" : "failed";
  return new PreDeployError(
    `${what} ${cause}: ${e.message}; nothing changed`,
    err instanceof ComposeRollError && err.hint ? err.hint : "fix the cause and rerun",
  );
}

/**
 * The migration gate: before a Django `migrate` hook, ask the new image what it would apply
 * (`migrate --plan`, and `sqlmigrate` where the SQL decides) and refuse what would break
 * the old replicas that keep serving during the rollout (docs/migration-gate.md).
 */
async function gate(
  ctx: HookContext,
  template: ReplicaTemplate,
  image: ImageInfo,
  argv: string[],
  signal: AbortSignal,
): Promise<void> {
  const { reporter } = ctx.deps;
  const mode = ctx.opts.migrationGate;
  const cmd = migrateCommand(argv);
  if (!cmd || mode === "off") {
    const skipped = (detail: string) =>
      reporter.event({ type: "gate", result: "skipped", migrations: [], findings: [], detail });
    if (cmd) skipped("--migration-gate off");
    // A migration behind a wrapper (sh -c, poetry run, a script) is one the gate cannot read:
    // say so, rather than let a breaking migration through in silence.
    else if (mode !== "off" && argv.some((w) => /\bmigrate\b/.test(w)))
      skipped(
        "the hook runs migrate in a way the gate does not read; give it as `python3 manage.py migrate …` (or django-admin) to have its plan judged",
      );
    return;
  }
  const timeoutMs = ctx.opts.preDeployTimeoutMs;
  const plan = await runTask(ctx, template, image, "migration-plan", cmd.plan, timeoutMs, signal, true);
  if (plan.exitCode !== 0) {
    throw new PreDeployError(
      `migration gate: \`${joinWords(cmd.plan)}\` failed with exit code ${plan.exitCode}${plan.lastError ? ` (${plan.lastError})` : ""}; nothing changed`,
      "the new image must reach its database as the hook would; or skip the gate with --migration-gate off",
    );
  }
  const migrations = parsePlan(plan.stdout);
  const sql: Record<string, string> = {};
  for (const m of migrations) {
    if (!m.operations.some(needsSql)) continue;
    const key = sqlKey(m);
    const res = await runTask(
      ctx,
      template,
      image,
      "migration-plan",
      cmd.sqlmigrate(m.app, m.name),
      timeoutMs,
      signal,
      true,
    );
    // Without its SQL the operation is judged as unknown (judge() flags it), never guessed safe.
    if (res.exitCode === 0) sql[key] = res.stdout;
  }
  const findings = judge(migrations, sql);
  const names = migrations.map((m) => `${m.app}.${m.name}`);
  if (findings.length === 0) {
    reporter.event({ type: "gate", result: "safe", migrations: names, findings: [] });
    return;
  }
  if (mode === "refuse" && !ctx.opts.allowBreaking) {
    reporter.event({ type: "gate", result: "refused", migrations: names, findings });
    throw new PreDeployError(
      `migration gate refused: ${describeFindings(findings).join("; ")}; nothing changed`,
      "make it backward compatible (expand now, contract in a later release: docs/migration-gate.md), or pass --allow-breaking if no old replica can be hurt",
    );
  }
  const detail = ctx.opts.allowBreaking ? "--allow-breaking" : "--migration-gate warn";
  reporter.event({ type: "gate", result: "warned", migrations: names, findings, detail });
}

/** After a complete rollout: the post-deploy hook. Its failure is exit 8, nothing rolled back. */
export async function postDeploy(ctx: HookContext, image: ImageInfo): Promise<void> {
  const argv = ctx.opts.postDeploy;
  if (!argv) return;
  const what = `post-deploy hook \`${joinWords(argv)}\``;
  const after = `the rollout itself is complete: ${ctx.svc.service} serves ${image.ref}, nothing was rolled back`;
  let res: TaskResult;
  try {
    const template = await templateOf(ctx);
    // Its own signal: the rollout is done, a signal now would only cut the hook short.
    const signal = new AbortController().signal;
    res = await runTask(ctx, template, image, "post-deploy", argv, ctx.opts.postDeployTimeoutMs, signal);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    throw new PostDeployError(
      `${what} failed: ${e.message}; ${after}`,
      "fix the cause and run the task by hand",
    );
  }
  if (res.exitCode !== 0) {
    throw new PostDeployError(
      `${what} failed with exit code ${res.exitCode}${res.lastError ? ` (${res.lastError})` : ""}; ${after}`,
      "see its output above (prefixed `post-deploy |`), fix it and run the task by hand",
    );
  }
}
