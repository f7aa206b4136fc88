// Revision history on the Docker host. Each revision is two objects named
// compose-roll-rev.<project>.<service>.<number>, with the same labels (the Revision):
// - a named volume: the record. It survives `docker container prune` and `docker system
//   prune`, which people run on deploy hosts by habit (state/volumes.ts);
// - a never-started container created FROM the revision's image: the pin. Docker refuses to
//   delete an image a container uses and `docker image prune -a` skips it, so an image stays
//   on the host as long as some kept revision needs it. It refers to the volume, which keeps
//   the volume from `docker volume prune`. Pruned, it takes only the pin with it.
// Records written before the volumes (container only) are read too, and given their volume
// at the next write: the migration needs no step of its own.
import { EngineError } from "../controller/errors.js";
import type { History, Revision, ServiceRef } from "../controller/ports.js";
import {
  createStateContainer,
  listState,
  nameOf,
  removeStateContainer,
  type StateOptions,
  short,
  warnDamaged,
} from "./containers.js";
import { decodeRevision, encodeRevision, ownerFilter, revisionName, StateLabel } from "./labels.js";
import { toPrune } from "./prune.js";
import { createVolume, listVolumes, removeVolume } from "./volumes.js";

interface Entry {
  rev: Revision;
  /** The pin container's ID, when it still exists. */
  pin?: string;
  /** Whether the record volume exists. */
  volume: boolean;
  /** The labels, to give a container-only record its volume. */
  labels: Record<string, string>;
}

export class DockerHistory implements History {
  private readonly docker: StateOptions["docker"];
  private readonly onDamaged: NonNullable<StateOptions["onDamaged"]>;

  constructor(opts: StateOptions) {
    this.docker = opts.docker;
    this.onDamaged = opts.onDamaged ?? warnDamaged;
  }

  /** Newest first. One list call: the labels come back with it, no inspect per record. */
  async list(svc: ServiceRef): Promise<Revision[]> {
    return (await this.scan(svc)).map((e) => e.rev);
  }

  /**
   * Creates the record (atomic: a container exists whole or not at all), then drops the
   * oldest records beyond `keep`, which unpins their images. A taken number is an error:
   * the lock makes it impossible unless someone bypassed it.
   */
  async record(svc: ServiceRef, rev: Revision, keep: number): Promise<void> {
    const name = revisionName(svc, rev.number);
    const labels = encodeRevision(svc, rev);
    const what = `record revision ${rev.number} of ${svc.project}/${svc.service}`;
    await createVolume(this.docker, name, labels, what);
    const made = await createStateContainer(this.docker, name, rev.image.id, labels, what, name).catch(
      async (err: unknown) => {
        await removeVolume(this.docker, name, what).catch(() => {});
        throw err;
      },
    );
    if (!made.created) {
      await removeVolume(this.docker, name, what).catch(() => {});
      throw new EngineError(
        `Docker: could not ${what}: container ${name} already exists`,
        `another rollout recorded revision ${rev.number} meanwhile; check \`docker ps -a --filter name=${name}\` and retry`,
      );
    }
    await this.prune(svc, keep, rev.number);
  }

  /**
   * The service of the project's most recent rollout (latest `at`), for `undo` without a
   * service name on a runner that has only the project name. Undefined when none is recorded.
   */
  async latestIn(project: string): Promise<string | undefined> {
    let latest: { service: string; at: number } | undefined;
    for (const r of await this.listProject(project)) {
      const at = Date.parse(r.revision.at);
      if (!latest || at > latest.at) latest = { service: r.service, at };
    }
    return latest?.service;
  }

  /** Every readable record of the project, of every service (a release spans several). */
  async listProject(project: string): Promise<{ service: string; revision: Revision }[]> {
    const filter = [`${StateLabel.kind}=revision`, `${StateLabel.project}=${project}`];
    const what = `list the revision records of project ${project}`;
    const [containers, volumes] = await Promise.all([
      listState(this.docker, filter, what),
      listVolumes(this.docker, filter, what),
    ]);
    // A record is its volume, or its pin when an older compose-roll wrote no volume.
    const listed = [...volumes, ...containers.map((c) => ({ name: nameOf(c), labels: c.Labels ?? {} }))];
    const seen = new Map<string, { service: string; revision: Revision }>();
    for (const c of listed) {
      if (seen.has(c.name)) continue;
      const service = c.labels[StateLabel.service] ?? "";
      const d = decodeRevision({ project, service }, c.labels);
      if (!d.ok) {
        this.onDamaged(c.name, d.reason);
        continue;
      }
      seen.set(c.name, { service, revision: d.value });
    }
    return [...seen.values()];
  }

  private async prune(svc: ServiceRef, keep: number, written: number): Promise<void> {
    const entries = await this.scan(svc);
    const drop = new Set(
      toPrune(
        entries.map((e) => e.rev),
        keep,
        written,
      ),
    );
    const failed: EngineError[] = [];
    for (const e of entries.filter((x) => drop.has(x.rev.number)).reverse()) {
      const name = revisionName(svc, e.rev.number);
      const what = `remove old revision record ${name}`;
      // The pin first: the volume cannot go while a container refers to it.
      try {
        if (e.pin) await removeStateContainer(this.docker, e.pin, what);
        if (e.volume) await removeVolume(this.docker, name, what);
      } catch (err) {
        failed.push(err as EngineError);
      }
    }
    // Records an older compose-roll wrote as containers only: give them their volume.
    for (const e of entries.filter((x) => !x.volume && !drop.has(x.rev.number))) {
      const name = revisionName(svc, e.rev.number);
      await createVolume(this.docker, name, e.labels, `keep revision record ${name} as a volume`).catch(
        (err: EngineError) => failed.push(err),
      );
    }
    const [first] = failed;
    if (first) {
      // The new record exists; only pruning failed. Say so, or a retry would hit the 409 above.
      throw new EngineError(
        `revision ${written} was recorded, but ${failed.length} old record(s) could not be removed: ${first.message}`,
        first.hint ?? "remove them by hand (`docker rm`); they only keep old images on disk",
      );
    }
  }

  private async scan(svc: ServiceRef): Promise<Entry[]> {
    const what = `list the revision records of ${svc.project}/${svc.service}`;
    const [containers, volumes] = await Promise.all([
      listState(this.docker, ownerFilter(svc, "revision"), what),
      listVolumes(this.docker, ownerFilter(svc, "revision"), what),
    ]);
    const byNumber = new Map<number, Entry>();
    for (const v of volumes) {
      const rev = this.readable(svc, v.name, v.labels);
      if (rev) byNumber.set(rev.number, { rev, volume: true, labels: v.labels });
    }
    for (const c of containers) {
      const name = nameOf(c);
      const rev = this.readable(svc, name, c.Labels ?? {});
      if (!rev) continue;
      if (c.ImageID !== rev.image.id) {
        this.onDamaged(name, `it says image ${short(rev.image.id)} but pins ${short(c.ImageID)}`);
        continue;
      }
      const known = byNumber.get(rev.number);
      // The volume is the record; a pin whose labels differ from it is not this revision's.
      if (known && JSON.stringify(known.rev) !== JSON.stringify(rev)) {
        this.onDamaged(name, `it differs from the record volume ${name}`);
        continue;
      }
      byNumber.set(rev.number, { rev, volume: Boolean(known), labels: c.Labels ?? {}, pin: c.Id });
    }
    return [...byNumber.values()].sort((a, b) => b.rev.number - a.rev.number);
  }

  /** The Revision a record's labels hold, if they are readable and its name matches them. */
  private readable(svc: ServiceRef, name: string, labels: Record<string, string>): Revision | undefined {
    const d = decodeRevision(svc, labels);
    if (!d.ok) {
      this.onDamaged(name, d.reason);
      return undefined;
    }
    // A record made by hand, or renamed, could claim a number or image it does not hold.
    const expected = revisionName(svc, d.value.number);
    if (name !== expected) {
      this.onDamaged(name, `it says revision ${d.value.number}, whose record is named ${expected}`);
      return undefined;
    }
    return d.value;
  }
}
