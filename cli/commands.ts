// The commands that change the service: roll, undo, repair and sync. Each opens its context
// (cli/context.ts), calls one use case of app/ and prints what it returns; roll, undo and repair
// and sync of a Swarm stack service go to cli/swarm.ts.

import { repair } from "../app/repair.js";
import type { Outcome } from "../app/roll.js";
import { rollRelease } from "../app/roll.js";
import { sync } from "../app/sync.js";
import { undo } from "../app/undo.js";
import { type Context, openTarget } from "./context.js";
import { formatDryRun, withSettings } from "./dryrun.js";
import type { RawOptions } from "./options.js";
import { repairProject, undoProject } from "./release-undo.js";
import { repairSwarmCommand, rollSwarmCommand, syncSwarmCommand, undoSwarmCommand } from "./swarm.js";

/** A dry run's plan goes to stdout, as one JSON document with --json; a rollout reported as it went. */
function print(ctx: Context, outcome: Outcome | undefined): void {
  if (!outcome || !("planned" in outcome)) return;
  const plan = withSettings(outcome.planned, ctx.opts, ctx.sources);
  process.stdout.write(
    ctx.opts.json
      ? `${JSON.stringify({ type: "plan", ...plan })}\n`
      : formatDryRun(plan, ctx.deps.router.describe()),
  );
}

export async function rollCommand(service: string, raw: RawOptions): Promise<void> {
  const ctx = await openTarget(service, raw, { traefik: true, writeBack: true, swarm: true });
  if ("swarm" in ctx) return rollSwarmCommand(ctx.swarm, ctx.swarm.raw);
  print(ctx, await rollRelease(ctx.app, raw.image));
}

export async function undoCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  // Without a service: the newest release as a whole, when it changed several services.
  if (service === undefined && !raw.dryRun && (await undoProject(raw))) return;
  const ctx = await openTarget(service, raw, { traefik: true, writeBack: true, swarm: true });
  if ("swarm" in ctx) return undoSwarmCommand(ctx.swarm, ctx.swarm.raw);
  print(ctx, await undo(ctx.app));
}

export async function repairCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  // Without a service, after a killed release: the project converges as `compose-roll up` does.
  if (service === undefined && !raw.dryRun && (await repairProject(raw))) return;
  const ctx = await openTarget(service, raw, { traefik: true, writeBack: true, swarm: true });
  if ("swarm" in ctx) return repairSwarmCommand(ctx.swarm, ctx.swarm.raw);
  print(ctx, await repair(ctx.app));
}

export async function syncCommand(service: string, raw: RawOptions): Promise<void> {
  const target = await openTarget(service, raw, { traefik: true, swarm: true });
  if ("swarm" in target) return syncSwarmCommand(target.swarm, target.swarm.raw);
  const ctx = target;
  const synced = await sync(ctx.app);
  if (synced) return;
  // Label mode: nothing to write, Traefik's Docker provider lists every healthy container itself.
  const routing = ctx.deps.router.describe();
  ctx.say(
    `${service} is routed by Docker labels (${routing.service}): Traefik keeps it in sync itself; sync is not needed`,
  );
}
