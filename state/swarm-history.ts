// Revision history on a Swarm: one config per revision, compose-roll-rev.<stack>.<service>.<n>,
// its labels the Revision (state/labels.ts) and its data the same as JSON. Configs live in the
// cluster's store: any manager lists them, `docker system prune` on a node does not touch them.
// Nothing pins images here: on a Swarm they come from a registry by digest, and each node pulls
// what its tasks need.
import type Docker from "dockerode";
import { EngineError } from "../controller/errors.js";
import type { History, Revision, ServiceRef } from "../controller/ports.js";
import { type StateOptions, warnDamaged } from "./containers.js";
import { decodeRevision, encodeRevision, ownerFilter, revisionName } from "./labels.js";
import { toPrune } from "./prune.js";
import { createConfig, listConfigs, removeConfig } from "./swarm-configs.js";

export class SwarmHistory implements History {
  private readonly docker: Docker;
  private readonly damaged: (name: string, reason: string) => void;

  constructor({ docker, onDamaged = warnDamaged }: StateOptions) {
    this.docker = docker;
    this.damaged = onDamaged;
  }

  /** Newest first, from one list call (each config's labels come with it). */
  list = async (svc: ServiceRef): Promise<Revision[]> => (await this.scan(svc)).map((e) => e.rev);

  /** Creates the record (atomic: a config exists whole or not at all), then drops the oldest beyond `keep`. */
  async record(svc: ServiceRef, rev: Revision, keep: number): Promise<void> {
    const name = revisionName(svc, rev.number);
    const what = `record revision ${rev.number} of ${svc.project}/${svc.service}`;
    const made = await createConfig(this.docker, name, encodeRevision(svc, rev), JSON.stringify(rev), what);
    if (!made.created) {
      throw new EngineError(
        `Docker: could not ${what}: Swarm config ${name} already exists`,
        `another rollout recorded revision ${rev.number} meanwhile; check \`docker config inspect ${name}\` and retry`,
      );
    }
    const entries = await this.scan(svc);
    const drop = new Set(
      toPrune(
        entries.map((e) => e.rev),
        keep,
        rev.number,
      ),
    );
    const failed: EngineError[] = [];
    for (const e of entries.filter((x) => drop.has(x.rev.number)).reverse()) {
      await removeConfig(this.docker, e.id, `remove old revision record ${e.name}`).catch(
        (err: EngineError) => failed.push(err),
      );
    }
    const [first] = failed;
    if (first) {
      // The new record exists; only pruning failed. Say so, or a retry would hit the 409 above.
      throw new EngineError(
        `revision ${rev.number} was recorded, but ${failed.length} old record(s) could not be removed: ${first.message}`,
        first.hint ?? "remove them by hand (`docker config rm`)",
      );
    }
  }

  private async scan(svc: ServiceRef): Promise<{ rev: Revision; id: string; name: string }[]> {
    const what = `list the revision records of ${svc.project}/${svc.service}`;
    const out = [];
    for (const c of await listConfigs(this.docker, ownerFilter(svc, "revision"), what)) {
      const name = c.Spec.Name;
      const d = decodeRevision(svc, c.Spec.Labels);
      if (!d.ok) {
        this.damaged(name, d.reason);
        continue;
      }
      // A record made by hand, or renamed, could claim a number it does not hold.
      const expected = revisionName(svc, d.value.number);
      if (name !== expected) {
        this.damaged(name, `it says revision ${d.value.number}, whose record is named ${expected}`);
        continue;
      }
      out.push({ rev: d.value, id: c.ID, name });
    }
    return out.sort((a, b) => b.rev.number - a.rev.number);
  }
}
