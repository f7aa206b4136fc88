// What the read-only commands print to stdout: aligned tables for people, and the history
// printer the compose and Swarm cases share (`history <service>`).
import type { Revision, ServiceRef } from "../controller/ports.js";

export const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export function table(rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const r of rows)
    out(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    );
}

export interface HistoryPrint {
  svc: ServiceRef;
  revisions: Revision[];
  json: boolean;
  /** Extra fields of the JSON document (the Swarm service's name, records lost). */
  extra?: Record<string, unknown>;
  /** Where the records are kept, for the line printed when there are none. */
  where: string;
  /** How an image is shown: on one host as the ref, on a Swarm pinned by digest. */
  image(i: { ref: string; id: string }): string;
}

export function printHistory(p: HistoryPrint): void {
  const revs = p.revisions;
  if (p.json) {
    out(JSON.stringify({ service: p.svc, revisions: revs, ...p.extra }));
    return;
  }
  if (revs.length === 0) {
    out(`no revisions of ${p.svc.project}/${p.svc.service} recorded${p.where}`);
    return;
  }
  table([
    ["REV", "IMAGE", "RESULT", "WHEN", "BY", "REPLACED"],
    ...revs.map((r) => [
      String(r.number),
      p.image(r.image),
      r.result,
      r.at,
      `${r.by.user}@${r.by.host}${r.by.ciJob ? ` ${r.by.ciJob}` : ""}`,
      r.previousImage ? p.image(r.previousImage) : "-",
    ]),
  ]);
  for (const r of revs.filter((x) => x.reason)) out(`revision ${r.number} ${r.result}: ${r.reason}`);
}
