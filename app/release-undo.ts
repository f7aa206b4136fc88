// `compose-roll undo` without a service, when the project's newest release changed several
// services: the whole release goes back, as one NEW release under the project lock (release.ts):
// routed services through undo's own path (undo.ts undoTo), workers to their recorded image by
// their rollback_config. If any part fails, what this undo changed goes back too (exit 5).
// A revision records the image only: each service's configuration comes from the files now.
import { RefusedError } from "../controller/errors.js";
import type { Revision } from "../controller/ports.js";
import { planRelease } from "../controller/release.js";
import type { ServiceFacts } from "../controller/release-policy.js";
import { type ReleaseEntry, releasesOf, releaseUndoTargets } from "../controller/revisions.js";
import { type ReleaseDeps, type ReleaseResult, release } from "./release.js";

export interface ReleaseUndoDeps extends Omit<ReleaseDeps, "targets" | "image"> {
  /** Every revision record of the project, of every service. */
  records: { service: string; revision: Revision }[];
  facts: ServiceFacts[];
  /** The compose files, for refusals to name. */
  file: string;
  /** How long a worker without a healthcheck must keep running to count as started. */
  settleMs: number;
}

/** The newest release, when it changed more than one service (else undo stays per service). */
export function newestRelease(records: ReleaseUndoDeps["records"]): ReleaseEntry | undefined {
  const [last] = releasesOf(records);
  return last && last.services.length > 1 ? last : undefined;
}

export async function undoRelease(d: ReleaseUndoDeps): Promise<ReleaseResult & { undone: string }> {
  const last = newestRelease(d.records);
  if (!last) {
    throw new RefusedError(
      `no release of several services is recorded for project ${d.base.svc.project}`,
      "name the service: compose-roll undo <service>",
    );
  }
  const histories = new Map<string, Revision[]>();
  for (const r of d.records) histories.set(r.service, [...(histories.get(r.service) ?? []), r.revision]);
  for (const h of histories.values()) h.sort((a, b) => b.number - a.number);
  const { targets, unchanged } = releaseUndoTargets(last, histories);
  const known = new Set(d.facts.map((f) => f.service));
  const gone = targets.filter((t) => !known.has(t.service)).map((t) => t.service);
  if (gone.length) {
    throw new RefusedError(
      `release ${last.id} changed ${gone.join(", ")}, which ${d.file} no longer declares`,
      "undo the services still declared one by one: compose-roll undo <service>",
    );
  }
  const plan = planRelease({
    file: d.file,
    facts: d.facts,
    changes: targets.map((t) => {
      const now = last.services.find((s) => s.service === t.service)?.revision.image.ref;
      return { service: t.service, action: "recreate", what: [`image ${now} → ${t.ref} (${t.why})`] };
    }),
    named: targets.map((t) => t.service),
    skip: [],
    // A stateful service the release rolled was forced then: undo puts it back the same way.
    force: true,
    settleMs: d.settleMs,
  });
  d.base.say(`undo: release ${last.id} (${last.at}) changed ${targets.map((t) => t.service).join(", ")}`);
  if (unchanged.length)
    d.base.say(
      `undo: ${unchanged.join(", ")} kept: the release changed only configuration there (revert it in the compose files)`,
    );
  for (const p of plan.services)
    if (p.policy !== "routed") {
      const t = targets.find((x) => x.service === p.service);
      d.base.say(
        `undo: ${p.service} back to ${t?.ref} (${t?.why}), with the configuration (environment, command) the compose files give now`,
      );
    }
  const out = await release(
    { ...d, targets: Object.fromEntries(targets.map(({ service, ...t }) => [service, t])) },
    plan,
  );
  return { ...out, undone: last.id };
}
