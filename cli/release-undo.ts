// `compose-roll undo` and `repair` without a service, for the project as a whole: undo puts
// the newest release of several services back as one new release (app/release-undo.ts);
// repair converges a killed release as `compose-roll up` does. Both undefined when the
// project's state calls for the per-service command instead.
import { RELEASE_LOCK } from "../app/release.js";
import { newestRelease, undoRelease } from "../app/release-undo.js";
import { serviceFacts } from "../compose/policies.js";
import { RefusedError } from "../controller/errors.js";
import { dockerWorkers } from "../engine/workers.js";
import { DockerHistory } from "../state/index.js";
import { type Context, openContext } from "./context.js";
import type { RawOptions } from "./options.js";
import { upCommand } from "./release.js";

/** True: the whole release was undone. False: the newest rollout was of one service. */
export async function undoProject(raw: RawOptions): Promise<boolean> {
  if (raw.toRevision !== undefined) return false; // a revision number is one service's
  const ctx = await openContext(undefined, raw, {
    traefik: false,
    writeBack: true,
    project: true,
    recorded: true,
  });
  const records = await new DockerHistory({ docker: ctx.docker }).listProject(ctx.project.name);
  if (!newestRelease(records)) return false;
  if (!ctx.project.files.length) {
    throw new RefusedError(
      `undo of a release of ${ctx.project.name} needs its compose files: compose creates the workers' containers`,
      "run it where the compose files are (-f <file>), or undo one service: compose-roll undo <service>",
    );
  }
  const out = await undoRelease({
    base: ctx.app,
    routed: async (service) => (await openContext(service, raw, { traefik: true, writeBack: true })).app,
    workers: dockerWorkers(ctx.docker, ctx.project.name, ctx.app.compose),
    records,
    facts: await serviceFacts(ctx.project, ctx.env),
    file: ctx.project.files.join(", "),
    settleMs: ctx.opts.settleMs,
  });
  if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: "release", ...out })}\n`);
  else ctx.say(`release ${out.id}: undid release ${out.undone}: ${out.rolled.join(", ")} rolled back`);
  return true;
}

/** True: a killed release's project lock was left, and the project was converged as `up` does. */
export async function repairProject(raw: RawOptions): Promise<boolean> {
  const ctx: Context = await openContext(undefined, raw, { traefik: false, project: true, recorded: true });
  const held = await ctx.app.lock.read({ project: ctx.project.name, service: RELEASE_LOCK });
  if (!held || !ctx.project.files.length) return false;
  ctx.say(
    `repair: a release (${held.command ?? "up"}, since ${held.since}) did not finish: converging the project on its compose files, as \`compose-roll up\` does`,
  );
  await upCommand([], raw);
  return true;
}
