// An in-memory Swarm config store for the dockerode calls state/swarm-*.ts makes: creates unique
// by name (409), inspect/update/remove by name or ID (404 when gone), updates refused at a stale
// version ("update out of sequence", as swarmkit says it), label-filtered lists, a manager clock.
import type Docker from "dockerode";
import type { LockInfo, Revision } from "../controller/ports.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** A lock as runner `host`'s process `pid` takes it, with a 30 s lease. */
export function lockInfo(pid: number, host = "runner-1"): LockInfo {
  return {
    by: { user: "ci", host, pid },
    since: new Date(Date.UTC(2026, 0, 1, 12, 0, pid % 60)).toISOString(),
    target: { ref: "app:v2", id: digest("b") },
    previous: { ref: "app:v1", id: digest("a") },
    revision: 4,
    replicas: 3,
    command: "compose-roll web --image app:v2",
    leaseMs: 30_000,
  };
}

/** Revision `number`, replacing number - 1. */
export function revision(number: number, result: Revision["result"] = "complete"): Revision {
  return {
    number,
    image: { ref: `app:${number}`, id: digest(String(number % 10)) },
    by: { user: "ci", host: "runner-1", pid: 10 },
    at: new Date(Date.UTC(2026, 0, 1, 0, number)).toISOString(),
    result,
    ...(number > 1 ? { previous: number - 1 } : {}),
  };
}

interface Config {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name: string; Labels: Record<string, string>; Data: string };
}

const NO_LEADER =
  "rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status";

const fail = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), { statusCode, json: { message } });

export class FakeSwarm {
  readonly configs = new Map<string, Config>();
  /** The manager's clock, ms: stamps creates and updates, and is what `info()` reports. */
  now = Date.parse("2026-01-01T12:00:00.000Z");
  /** Run between a caller's read and its update, to let another runner interleave. */
  beforeUpdate: (() => void) | undefined;
  /** Calls left to fail as while the managers elect a leader; `applied`: writes take effect anyway. */
  private election = { calls: 0, applied: false };

  /** The next `calls` calls fail with swarmkit's lost-leadership error (writes applied if `applied`). */
  leaderless(calls: number, applied = false): void {
    this.election = { calls, applied };
  }

  /** Before a call: throws while leaderless, unless it is a write applied anyway (then after it). */
  private elect(write: boolean): boolean {
    if (this.election.calls <= 0) return false;
    this.election.calls--;
    if (write && this.election.applied) return true;
    throw fail(500, NO_LEADER);
  }
  private seq = 0;
  private index = 10;

  private find(ref: string): Config {
    const c = this.configs.get(ref) ?? [...this.configs.values()].find((x) => x.Spec.Name === ref);
    if (!c) throw fail(404, `config ${ref} not found`);
    return c;
  }

  private stamp = () => new Date(this.now).toISOString();

  readonly api = {
    info: async () => ({ SystemTime: this.stamp() }),
    createConfig: async (o: { _body: Config["Spec"] }) => {
      const late = this.elect(true);
      const spec = o._body;
      if ([...this.configs.values()].some((x) => x.Spec.Name === spec.Name)) {
        throw fail(409, `rpc error: code = AlreadyExists desc = config ${spec.Name} already exists`);
      }
      const ID = `cfg${++this.seq}`;
      const at = this.stamp();
      this.configs.set(ID, {
        ID,
        Version: { Index: ++this.index },
        CreatedAt: at,
        UpdatedAt: at,
        Spec: { ...spec },
      });
      if (late) throw fail(500, NO_LEADER);
      return { id: ID };
    },
    getConfig: (ref: string) => ({
      inspect: async () => {
        this.elect(false);
        return structuredClone(this.find(ref));
      },
      update: async (o: { _query: { version: number }; _body: Config["Spec"] }) => {
        this.beforeUpdate?.();
        const late = this.elect(true);
        const c = this.find(ref);
        if (c.Version.Index !== o._query.version) {
          throw fail(500, "rpc error: code = Unknown desc = update out of sequence");
        }
        c.Spec = { ...c.Spec, Labels: { ...o._body.Labels } };
        c.Version.Index = ++this.index;
        c.UpdatedAt = this.stamp();
        if (late) throw fail(500, NO_LEADER);
      },
      remove: async () => {
        const late = this.elect(true);
        this.configs.delete(this.find(ref).ID);
        if (late) throw fail(500, NO_LEADER);
      },
    }),
    listConfigs: async (o: { filters: string }) => {
      this.elect(false);
      const want = (JSON.parse(o.filters) as { label: string[] }).label.map((f) => f.split("="));
      return [...this.configs.values()]
        .filter((c) => want.every(([k, v]) => c.Spec.Labels[k as string] === v))
        .map((c) => structuredClone(c));
    },
  } as unknown as Docker;
}
