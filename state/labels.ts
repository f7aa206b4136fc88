// Pure: the label scheme of the containers that hold compose-roll's state on the Docker host,
// and the names those containers get.
//
// One label per field rather than one JSON label, because:
// - `docker ps -a --filter label=com.compose-roll.revision.image-id=sha256:…` and
//   `docker ps -a --format '{{.Label "com.compose-roll.revision.number"}}'` work without jq,
//   which is what an operator reaches for on a host at 3 a.m.;
// - `docker inspect` shows each field on its own line;
// - a damaged field is reported by name ("revision.pid is 'x'") instead of "bad JSON".
// Atomicity is the same either way: a container's labels are fixed at create time, so a
// record exists whole or not at all. The labels come back in the list response itself, so
// list() stays one API call.
import { RefusedError } from "../controller/errors.js";
import type { Actor, LockInfo, Revision, RevisionResult, ServiceRef } from "../controller/ports.js";

const NS = "com.compose-roll";

export const StateLabel = {
  kind: `${NS}.kind`,
  project: `${NS}.project`,
  service: `${NS}.service`,
} as const;

export type StateKind = "revision" | "lock" | "lease";

const RESULTS: readonly RevisionResult[] = ["complete", "rolled-back", "failed"];

/** Label keys of a revision record, `com.compose-roll.revision.<field>`. */
export const RevisionLabel = {
  number: `${NS}.revision.number`,
  imageRef: `${NS}.revision.image-ref`,
  imageId: `${NS}.revision.image-id`,
  user: `${NS}.revision.user`,
  host: `${NS}.revision.host`,
  pid: `${NS}.revision.pid`,
  ciJob: `${NS}.revision.ci-job`,
  at: `${NS}.revision.at`,
  result: `${NS}.revision.result`,
  previous: `${NS}.revision.previous`,
  previousImageRef: `${NS}.revision.previous-image-ref`,
  previousImageId: `${NS}.revision.previous-image-id`,
  reason: `${NS}.revision.reason`,
  /** Prefix: one label per setting, `com.compose-roll.revision.settings.<option>`. */
  settings: `${NS}.revision.settings.`,
} as const;

/** Label keys of the lock, `com.compose-roll.lock.<field>`. */
export const LockLabel = {
  user: `${NS}.lock.user`,
  host: `${NS}.lock.host`,
  pid: `${NS}.lock.pid`,
  ciJob: `${NS}.lock.ci-job`,
  since: `${NS}.lock.since`,
  targetRef: `${NS}.lock.target-ref`,
  targetId: `${NS}.lock.target-id`,
  previousRef: `${NS}.lock.previous-ref`,
  previousId: `${NS}.lock.previous-id`,
  revision: `${NS}.lock.revision`,
  replicas: `${NS}.lock.replicas`,
  command: `${NS}.lock.command`,
  pidStart: `${NS}.lock.pid-start`,
  bootId: `${NS}.lock.boot-id`,
  pidNs: `${NS}.lock.pid-ns`,
  leaseMs: `${NS}.lock.lease-ms`,
} as const;

// Docker's rule for container names. Compose project names never contain a dot
// (^[a-z0-9][a-z0-9_-]*$), so `<project>.<service>` cannot be read two ways even though
// service names may contain dots, and the revision number is whatever follows the last dot.
const NAME_CHARS = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function checkRef(svc: ServiceRef): void {
  if (!NAME_CHARS.test(svc.project) || svc.project.includes(".")) {
    throw new RefusedError(
      `project name "${svc.project}" is not a Docker Compose project name`,
      "use lowercase letters, digits, '-' and '_' (as `docker compose -p` requires)",
    );
  }
  if (!NAME_CHARS.test(svc.service)) {
    throw new RefusedError(
      `service name "${svc.service}" cannot be part of a container name`,
      "use letters, digits, '.', '-' and '_' in service names",
    );
  }
}

export function lockName(svc: ServiceRef): string {
  checkRef(svc);
  return `compose-roll-lock.${svc.project}.${svc.service}`;
}

/** One renewal of a lock's lease: `gen` counts up while the holder lives. */
export function leaseName(svc: ServiceRef, gen: number): string {
  checkRef(svc);
  return `compose-roll-lease.${svc.project}.${svc.service}.${gen}`;
}

/** Label keys of a lease renewal, `com.compose-roll.lease.<field>`. */
export const LeaseLabel = {
  /** The ID of the lock container it renews: a renewal outlives no lock but its own. */
  lockId: `${NS}.lease.lock-id`,
  gen: `${NS}.lease.gen`,
} as const;

export function revisionName(svc: ServiceRef, number: number): string {
  checkRef(svc);
  return `compose-roll-rev.${svc.project}.${svc.service}.${number}`;
}

/** The labels every state container carries; also the list filter. Never compose's labels. */
export function ownerLabels(svc: ServiceRef, kind: StateKind): Record<string, string> {
  return { [StateLabel.kind]: kind, [StateLabel.project]: svc.project, [StateLabel.service]: svc.service };
}

export function ownerFilter(svc: ServiceRef, kind: StateKind): string[] {
  return Object.entries(ownerLabels(svc, kind)).map(([k, v]) => `${k}=${v}`);
}

type Labels = Record<string, string>;
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Thrown inside the decoders only; turned into `{ ok: false }` at their edge. */
class Bad extends Error {}

/** Optional fields are left out when unset; required ones are always written, even empty. */
function put(out: Labels, key: string, v: string | number | undefined): void {
  if (v !== undefined && v !== "") out[key] = String(v);
}

function set(out: Labels, key: string, v: string | number): void {
  out[key] = String(v);
}

/** Required text: the label must exist; an empty value round-trips as written. */
function text(l: Labels, key: string): string {
  const v = l[key];
  if (v === undefined) throw new Bad(`${short(key)} is missing`);
  return v;
}

function optional(l: Labels, key: string): string | undefined {
  const v = l[key];
  return v === undefined || v === "" ? undefined : v;
}

/**
 * The most replicas a lock may ask `repair` to restore: a tampered record must not make it
 * start thousands of containers. docs/configuration.md states the cap.
 */
export const MAX_LOCK_REPLICAS = 64;

function int(l: Labels, key: string): number {
  const v = text(l, key);
  if (v === "") throw new Bad(`${short(key)} is empty`);
  if (!/^\d{1,15}$/.test(v)) throw new Bad(`${short(key)} is "${v}", not a whole number`);
  return Number(v);
}

/**
 * The highest revision number a record may hold: a rollout a second for thirty years. A
 * larger one was made by hand or tampered with; counted on from, it would soon outgrow what
 * a label reads back, and every later rollout would refuse to record.
 */
export const MAX_REVISION = 999_999_999;

function revisionNumber(l: Labels, key: string): number {
  const n = int(l, key);
  if (n > MAX_REVISION) throw new Bad(`${short(key)} is "${n}", beyond ${MAX_REVISION}`);
  return n;
}

function time(l: Labels, key: string): string {
  const v = text(l, key);
  if (Number.isNaN(Date.parse(v))) throw new Bad(`${short(key)} is "${v}", not a time`);
  return v;
}

function short(key: string): string {
  return key.slice(NS.length + 1);
}

function decode<T>(l: Labels | null | undefined, kind: StateKind, svc: ServiceRef, read: (l: Labels) => T) {
  const labels = l ?? {};
  try {
    // A container that merely borrowed the name (made by hand, another tool) is not a record.
    const own = ownerLabels(svc, kind);
    for (const [k, v] of Object.entries(own)) {
      if (labels[k] !== v) throw new Bad(`${short(k)} is "${labels[k] ?? ""}", expected "${v}"`);
    }
    return { ok: true, value: read(labels) } as Decoded<T>;
  } catch (err) {
    if (err instanceof Bad) return { ok: false, reason: err.message } as Decoded<T>;
    throw err;
  }
}

function actorLabels(out: Labels, keys: typeof RevisionLabel | typeof LockLabel, by: Actor): void {
  set(out, keys.user, by.user);
  set(out, keys.host, by.host);
  set(out, keys.pid, by.pid);
  put(out, keys.ciJob, by.ciJob);
}

function readActor(l: Labels, keys: typeof RevisionLabel | typeof LockLabel): Actor {
  const by: Actor = { user: text(l, keys.user), host: text(l, keys.host), pid: int(l, keys.pid) };
  const ciJob = optional(l, keys.ciJob);
  if (ciJob !== undefined) by.ciJob = ciJob;
  return by;
}

/** Never write what could not be read back (a NaN pid, a revision 1.5, a date typo). */
function readable(out: Labels, back: Decoded<unknown>, what: string): Labels {
  if (!back.ok) throw new RefusedError(`compose-roll cannot record ${what}: ${back.reason}`, BUG);
  return out;
}

const BUG = "this is a bug in compose-roll's caller; please report it with the command you ran";

export function encodeRevision(svc: ServiceRef, rev: Revision): Labels {
  const out = ownerLabels(svc, "revision");
  set(out, RevisionLabel.number, rev.number);
  set(out, RevisionLabel.imageRef, rev.image.ref);
  set(out, RevisionLabel.imageId, rev.image.id);
  actorLabels(out, RevisionLabel, rev.by);
  set(out, RevisionLabel.at, rev.at);
  set(out, RevisionLabel.result, rev.result);
  put(out, RevisionLabel.previous, rev.previous);
  put(out, RevisionLabel.reason, rev.reason);
  if (rev.previousImage) {
    set(out, RevisionLabel.previousImageRef, rev.previousImage.ref);
    set(out, RevisionLabel.previousImageId, rev.previousImage.id);
  }
  // An empty map writes nothing and reads back as undefined: both mean "no settings".
  for (const [k, v] of Object.entries(rev.settings ?? {})) set(out, RevisionLabel.settings + k, v);
  return readable(out, decodeRevision(svc, out), `revision ${rev.number}`);
}

export function decodeRevision(svc: ServiceRef, labels: Labels | null | undefined): Decoded<Revision> {
  return decode(labels, "revision", svc, (l) => {
    const result = text(l, RevisionLabel.result);
    if (!(RESULTS as string[]).includes(result)) {
      throw new Bad(`revision.result is "${result}", not one of ${RESULTS.join(", ")}`);
    }
    const rev: Revision = {
      number: revisionNumber(l, RevisionLabel.number),
      image: { ref: text(l, RevisionLabel.imageRef), id: text(l, RevisionLabel.imageId) },
      by: readActor(l, RevisionLabel),
      at: time(l, RevisionLabel.at),
      result: result as RevisionResult,
    };
    if (optional(l, RevisionLabel.previous) !== undefined)
      rev.previous = revisionNumber(l, RevisionLabel.previous);
    const prevRef = l[RevisionLabel.previousImageRef];
    const prevId = l[RevisionLabel.previousImageId];
    if ((prevRef === undefined) !== (prevId === undefined)) {
      throw new Bad("revision.previous-image-ref and revision.previous-image-id must come together");
    }
    if (prevRef !== undefined && prevId !== undefined) rev.previousImage = { ref: prevRef, id: prevId };
    const reason = optional(l, RevisionLabel.reason);
    if (reason !== undefined) rev.reason = reason;
    const settings: Record<string, string> = {};
    for (const [k, v] of Object.entries(l)) {
      if (k.startsWith(RevisionLabel.settings)) settings[k.slice(RevisionLabel.settings.length)] = v;
    }
    if (Object.keys(settings).length) rev.settings = settings;
    return rev;
  });
}

export function encodeLock(svc: ServiceRef, info: LockInfo): Labels {
  const out = ownerLabels(svc, "lock");
  actorLabels(out, LockLabel, info.by);
  set(out, LockLabel.since, info.since);
  set(out, LockLabel.targetRef, info.target.ref);
  set(out, LockLabel.targetId, info.target.id);
  set(out, LockLabel.previousRef, info.previous.ref);
  set(out, LockLabel.previousId, info.previous.id);
  set(out, LockLabel.revision, info.revision);
  set(out, LockLabel.replicas, info.replicas);
  set(out, LockLabel.command, info.command);
  if (info.process) {
    set(out, LockLabel.pidStart, info.process.start);
    set(out, LockLabel.bootId, info.process.boot);
    set(out, LockLabel.pidNs, info.process.pidns);
  }
  put(out, LockLabel.leaseMs, info.leaseMs);
  return readable(out, decodeLock(svc, out), "the lock");
}

export function decodeLock(svc: ServiceRef, labels: Labels | null | undefined): Decoded<LockInfo> {
  return decode(labels, "lock", svc, (l) => {
    const info: LockInfo = {
      by: readActor(l, LockLabel),
      since: time(l, LockLabel.since),
      target: { ref: text(l, LockLabel.targetRef), id: text(l, LockLabel.targetId) },
      previous: { ref: text(l, LockLabel.previousRef), id: text(l, LockLabel.previousId) },
      revision: int(l, LockLabel.revision),
      replicas: Math.min(int(l, LockLabel.replicas), MAX_LOCK_REPLICAS),
      command: text(l, LockLabel.command),
    };
    // An older compose-roll wrote neither (see state/stale.ts).
    const start = optional(l, LockLabel.pidStart);
    if (start !== undefined) {
      info.process = { start, boot: text(l, LockLabel.bootId), pidns: text(l, LockLabel.pidNs) };
    }
    if (optional(l, LockLabel.leaseMs) !== undefined) info.leaseMs = int(l, LockLabel.leaseMs);
    return info;
  });
}

/** Whether `labels` (of the lock container) were written for this very `info`: same host, pid and since. */
export function lockBelongsTo(labels: Labels | null | undefined, info: LockInfo): boolean {
  const l = labels ?? {};
  return (
    l[LockLabel.host] === info.by.host &&
    l[LockLabel.pid] === String(info.by.pid) &&
    l[LockLabel.since] === info.since
  );
}
