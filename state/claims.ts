// Claims on files that several services may write: one Traefik file shared by two services.
// Each service's lock is its own, so two rollouts of two services would each read, change
// and replace that file, and whichever wrote last would revert the other's servers. A claim
// is a never-started container named after the file (compose-roll-file.<hash of where and
// path>), taken right after the service's lock and removed with it; Docker reserves names
// atomically, so of two rollouts needing one file only one gets it, whichever services they
// roll. The other is refused (exit 3) naming the rollout that holds it. A claim whose lock
// container is gone (released, or broken after its holder died) is garbage: whoever finds it
// removes it, so a dead holder's claim lasts exactly as long as its lock.
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type Docker from "dockerode";
import { LockHeldError } from "../controller/errors.js";
import type { ServiceRef } from "../controller/ports.js";
import { createStateContainer, inspectState, listState, removeStateContainer } from "./containers.js";
import { decodeLock, StateLabel } from "./labels.js";

/** A file as every runner names it: the machine it is on, and its real path there. */
export interface FileRef {
  where: string;
  path: string;
}

export const ClaimLabel = {
  file: "com.compose-roll.claim.file",
  lockId: "com.compose-roll.claim.lock-id",
} as const;

/**
 * A file on this machine (symbolic links resolved, so two names of one file are one claim),
 * or, given `remote` (ssh://user@host:port), a path on the Docker host as given.
 */
export function fileRef(path: string, remote?: string): FileRef {
  if (remote) return { where: remote, path };
  let real = resolve(path);
  try {
    real = realpathSync.native(real);
  } catch {
    // not there yet: the first rollout creates it, under this same name
  }
  return { where: `local:${hostname()}`, path: real };
}

export function claimName(f: FileRef): string {
  const hash = createHash("sha256").update(`${f.where}\0${f.path}`).digest("hex");
  return `compose-roll-file.${hash.slice(0, 24)}`;
}

const show = (f: FileRef) => (f.where.startsWith("local:") ? f.path : `${f.path} on ${f.where}`);

/**
 * Claims every file in `files` for the lock container `lockId` (of `svc`), or claims none
 * and throws LockHeldError naming the rollout that holds one of them.
 */
export async function claimFiles(
  docker: Docker,
  svc: ServiceRef,
  files: FileRef[],
  lockId: string,
  imageId: string,
): Promise<void> {
  const taken: string[] = [];
  try {
    for (const f of files) taken.push(await claimOne(docker, svc, f, lockId, imageId));
  } catch (err) {
    await Promise.all(
      taken.map((id) => removeStateContainer(docker, id, "remove a file claim").catch(() => {})),
    );
    throw err;
  }
}

async function claimOne(
  docker: Docker,
  svc: ServiceRef,
  f: FileRef,
  lockId: string,
  imageId: string,
): Promise<string> {
  const name = claimName(f);
  const what = `claim ${show(f)} for ${svc.project}/${svc.service} (container ${name})`;
  const labels = {
    [StateLabel.kind]: "claim",
    [StateLabel.project]: svc.project,
    [StateLabel.service]: svc.service,
    [ClaimLabel.file]: `${f.where}:${f.path}`,
    [ClaimLabel.lockId]: lockId,
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const made = await createStateContainer(docker, name, imageId, labels, what);
    if (made.created) return made.id;
    const claim = await inspectState(docker, name, what);
    if (!claim) continue; // released in between
    const l = claim.Config.Labels ?? {};
    const owner = l[ClaimLabel.lockId] ?? "";
    const lock = owner ? await inspectState(docker, owner, what) : undefined;
    if (!lock) {
      await removeStateContainer(docker, claim.Id, `remove the stale claim ${name}`);
      continue;
    }
    const other = { project: l[StateLabel.project] ?? "?", service: l[StateLabel.service] ?? "?" };
    const info = decodeLock(other, lock.Config.Labels);
    const by = info.ok
      ? ` (${info.value.command} by ${info.value.by.user}@${info.value.by.host} since ${info.value.since})`
      : "";
    throw new LockHeldError(
      `${show(f)} is written by the rollout of ${other.project}/${other.service} too${by}: two rollouts writing one file would revert each other's changes`,
      `roll ${svc.service} once that rollout is done; if that run is dead, \`compose-roll lock release ${other.service}\` frees the file with its lock`,
    );
  }
  throw new LockHeldError(
    `${show(f)} is claimed and released over and over by other rollouts`,
    "retry in a moment",
  );
}

/** Removes the claims of the lock container `lockId`. */
export async function dropClaims(docker: Docker, lockId: string): Promise<void> {
  const mine = await listState(
    docker,
    [`${StateLabel.kind}=claim`, `${ClaimLabel.lockId}=${lockId}`],
    "list file claims",
  );
  await Promise.all(mine.map((c) => removeStateContainer(docker, c.Id, "remove a file claim")));
}
