// Revision history on the Docker host: one never-started container per revision, named
// compose-roll-rev.<project>.<service>.<number>, created FROM the revision's image. That
// container is the record (its labels hold the Revision) and the pin: Docker refuses to
// delete an image a container uses and `docker image prune -a` skips it, so an image stays
// on the host exactly as long as some kept revision needs it.
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

interface Entry {
  id: string;
  rev: Revision;
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
    const made = await createStateContainer(this.docker, name, rev.image.id, labels, what);
    if (!made.created) {
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
    const filter = [`${StateLabel.kind}=revision`, `${StateLabel.project}=${project}`];
    const listed = await listState(this.docker, filter, `list the revision records of project ${project}`);
    let latest: { service: string; at: number } | undefined;
    for (const c of listed) {
      const service = c.Labels?.[StateLabel.service] ?? "";
      const d = decodeRevision({ project, service }, c.Labels);
      if (!d.ok) {
        this.onDamaged(nameOf(c), d.reason);
        continue;
      }
      const at = Date.parse(d.value.at);
      if (!latest || at > latest.at) latest = { service, at };
    }
    return latest?.service;
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
      const what = `remove old revision record ${revisionName(svc, e.rev.number)}`;
      await removeStateContainer(this.docker, e.id, what).catch((err: EngineError) => failed.push(err));
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
    const listed = await listState(
      this.docker,
      ownerFilter(svc, "revision"),
      `list the revision records of ${svc.project}/${svc.service}`,
    );
    const entries: Entry[] = [];
    for (const c of listed) {
      const name = nameOf(c);
      const d = decodeRevision(svc, c.Labels);
      if (!d.ok) {
        this.onDamaged(name, d.reason);
        continue;
      }
      // A record made by hand, or renamed, could claim a number or image it does not hold.
      const expected = revisionName(svc, d.value.number);
      if (name !== expected) {
        this.onDamaged(name, `it says revision ${d.value.number}, whose record is named ${expected}`);
        continue;
      }
      if (c.ImageID !== d.value.image.id) {
        this.onDamaged(name, `it says image ${short(d.value.image.id)} but pins ${short(c.ImageID)}`);
        continue;
      }
      entries.push({ id: c.Id, rev: d.value });
    }
    return entries.sort((a, b) => b.rev.number - a.rev.number);
  }
}
