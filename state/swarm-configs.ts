// The Swarm side of compose-roll's state: Swarm configs, reached through any manager. A config
// lives in the cluster's Raft store, not on a node, so it survives `docker system prune` on every
// node and the loss of any minority of managers. Two properties make it a lock and a record:
// - a create by name is atomic: of racing creators exactly one succeeds, the others get 409;
// - only its labels can change, and every update names the version it read: a stale version is
//   refused ("update out of sequence"), so a change never overwrites one it has not seen.
// Each call waits through a leader election (engine/swarm/election.ts); a create tried again
// recognises its own config, by its data, under a name the first try took after all.
import type Docker from "dockerode";
import { engineError, statusOf } from "../engine/docker.js";
import {
  type ElectionWait,
  electionWait,
  type SwarmErrorKind,
  swarmCall,
  swarmErrorKind,
  throughElection,
} from "../engine/swarm/election.js";

export interface ConfigSpec {
  Name: string;
  Labels?: Record<string, string>;
  /** base64 */
  Data?: string;
}

export interface StateConfig {
  ID: string;
  Version: { Index: number };
  /** The manager's clock at create and at the last update (renewals move it). */
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ConfigSpec;
}

export type ConfigCreated = { created: true; id: string } | { created: false; conflict: true };

/** Creates config `name`; a 409 (the name is taken) is returned, not thrown. */
export async function createConfig(
  docker: Docker,
  name: string,
  labels: Record<string, string>,
  data: string,
  what: string,
  wait: ElectionWait = electionWait,
): Promise<ConfigCreated> {
  const spec: ConfigSpec = { Name: name, Labels: labels, Data: Buffer.from(data).toString("base64") };
  return throughElection(
    what,
    async (retried) => {
      try {
        // The body only: dockerode would put the spec in the query string too (dockerode#144).
        const made = await docker.createConfig({ _body: spec } as never);
        return { created: true, id: (made as unknown as { id: string }).id };
      } catch (err) {
        if (swarmErrorKind(err) !== "name-taken") return failed(err, what, {});
        // Data carries the holder's host, pid and start (a lock) or the whole record: only the
        // try that found no leader could have made a config with the same.
        const mine = retried ? await inspectConfig(docker, name, what, wait) : undefined;
        if (mine && mine.Spec.Data === spec.Data) return { created: true, id: mine.ID };
        return { created: false, conflict: true };
      }
    },
    wait,
  );
}

/** The config named (or with the ID) `ref`; undefined when there is none. */
export async function inspectConfig(
  docker: Docker,
  ref: string,
  what: string,
  wait: ElectionWait = electionWait,
): Promise<StateConfig | undefined> {
  return throughElection(
    what,
    async () => {
      try {
        return (await docker.getConfig(ref).inspect()) as unknown as StateConfig;
      } catch (err) {
        return failed(err, what, { gone: undefined });
      }
    },
    wait,
  );
}

/**
 * Replaces the labels of config `c` if it is still at the version read. False when it is not
 * (changed meanwhile) or gone; throws on anything else.
 */
export async function updateLabels(
  docker: Docker,
  c: StateConfig,
  labels: Record<string, string>,
  what: string,
  wait: ElectionWait = electionWait,
): Promise<boolean> {
  // Tried again at the same version: if the try that found no leader was applied, the next is
  // out of sequence and reads as "changed meanwhile", which the caller reads again after.
  return throughElection(
    what,
    async () => {
      try {
        await docker.getConfig(c.ID).update({
          _query: { version: c.Version.Index },
          _body: { ...c.Spec, Labels: labels },
        } as never);
        return true;
      } catch (err) {
        return failed(err, what, { gone: false, "out-of-sequence": false });
      }
    },
    wait,
  );
}

/** Removes config `ref` (name or ID); already gone is fine. */
export async function removeConfig(
  docker: Docker,
  ref: string,
  what: string,
  wait: ElectionWait = electionWait,
): Promise<void> {
  await throughElection(
    what,
    async () => {
      try {
        await docker.getConfig(ref).remove();
      } catch (err) {
        failed(err, what, { gone: undefined });
      }
    },
    wait,
  );
}

/** Configs carrying every `key=value` label of `filters`, with their labels (one call). */
export async function listConfigs(
  docker: Docker,
  filters: string[],
  what: string,
  wait: ElectionWait = electionWait,
): Promise<StateConfig[]> {
  return (await swarmCall(
    wait,
    what,
    () => docker.listConfigs({ filters: JSON.stringify({ label: filters }) }),
    "check that DOCKER_HOST names a Swarm manager (`docker node ls` works there)",
  )) as unknown as StateConfig[];
}

/** The record a config holds, as JSON in its data (labels carry the same, field by field). */
export function configData(c: StateConfig): string {
  return Buffer.from(c.Spec.Data ?? "", "base64").toString("utf8");
}

/**
 * A config call that failed: the answer `tolerated` gives for its kind, or thrown again as is
 * while the Swarm has no leader (the election wait tries it again), or an EngineError.
 */
function failed<T>(err: unknown, what: string, tolerated: Partial<Record<SwarmErrorKind, T>>): T {
  const kind = swarmErrorKind(err);
  if (kind in tolerated) return tolerated[kind] as T;
  if (kind === "no-leader") throw err;
  throw engineError(err, what, swarmHint(err));
}

function swarmHint(err: unknown): string | undefined {
  const s = statusOf(err);
  if (s === 503 || s === 406) return "the engine is not a Swarm manager: point DOCKER_HOST at a manager node";
  return undefined;
}
