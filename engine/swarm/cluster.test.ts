// The Swarm cluster adapter through a leader election, on an in-memory service store that answers
// the dockerode calls it makes, failing as a manager does while the managers elect a leader.
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import type { SwarmSnapshot } from "../../controller/swarm-ports.js";
import { STAND_IN, SwarmEngine } from "./cluster.js";

const NO_LEADER =
  "rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status";
const fail = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), { statusCode, json: { message } });

interface Service {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels: Record<string, string>; TaskTemplate: { ContainerSpec: { Image: string } } };
}

class FakeServices {
  readonly services = new Map<string, Service>();
  private index = 10;
  /** Calls left to fail as in an election; `applied`: a write takes effect before it fails. */
  election = { calls: 0, applied: false };
  private elect(write: boolean): boolean {
    if (this.election.calls <= 0) return false;
    this.election.calls--;
    if (write && this.election.applied) return true;
    throw fail(500, NO_LEADER);
  }
  private find(ref: string): Service {
    const s = [...this.services.values()].find((x) => x.ID === ref || x.Spec.Name === ref);
    if (!s) throw fail(404, `service ${ref} not found`);
    return s;
  }
  constructor() {
    this.add({ Name: "shop_web", Labels: { a: "1" }, TaskTemplate: { ContainerSpec: { Image: "app:v1" } } });
  }
  private add(spec: Service["Spec"]): void {
    const ID = `svc${this.services.size + 1}`;
    this.services.set(ID, { ID, Version: { Index: ++this.index }, Spec: structuredClone(spec) });
  }
  readonly api = {
    getService: (ref: string) => ({
      inspect: async () => {
        this.elect(false);
        return structuredClone(this.find(ref));
      },
      update: async (o: { _query: { version: number }; _body: Service["Spec"] }) => {
        const late = this.elect(true);
        const s = this.find(ref);
        if (s.Version.Index !== o._query.version)
          throw fail(500, "rpc error: code = Unknown desc = update out of sequence");
        s.Spec = structuredClone(o._body);
        s.Version.Index = ++this.index;
        if (late) throw fail(500, NO_LEADER);
      },
    }),
    createService: async (_auth: unknown, o: { _body: Service["Spec"] }) => {
      const late = this.elect(true);
      if ([...this.services.values()].some((x) => x.Spec.Name === o._body.Name))
        throw fail(409, `rpc error: code = AlreadyExists desc = name conflicts with an existing object`);
      this.add(o._body);
      if (late) throw fail(500, NO_LEADER);
      return {};
    },
    listTasks: async () => {
      this.elect(false);
      return [];
    },
  } as unknown as Docker;
}

const fast = {
  clock: { now: () => 0, sleep: async () => {} },
};

describe("SwarmEngine through a leader election", () => {
  it("a label update that found no leader but was applied: read again and applied again, no error", async () => {
    const f = new FakeServices();
    const told: string[] = [];
    const engine = new SwarmEngine(f.api, { ...fast, onWait: (what) => told.push(what) });
    f.election = { calls: 1, applied: true };
    await engine.setLabels("shop_web", { a: "2" });
    expect(f.services.get("svc1")?.Spec.Labels).toEqual({ a: "2" });
    expect(told).toEqual(["update the labels of shop_web"]);
  });

  it("a stand-in whose create found no leader but was applied is taken as created, once", async () => {
    const f = new FakeServices();
    const engine = new SwarmEngine(f.api, fast);
    const from = await engine.snapshot("shop_web");
    f.election = { calls: 1, applied: true };
    await engine.createStandIn(from as SwarmSnapshot, "shop_web-standin-1", "app:v2", { b: "1" });
    const made = [...f.services.values()].filter((s) => s.Spec.Name === "shop_web-standin-1");
    expect(made).toHaveLength(1);
    expect(made[0]?.Spec.Labels).toEqual({ b: "1", [STAND_IN]: "shop_web" });
  });

  it("a name taken by anything else is still refused", async () => {
    const f = new FakeServices();
    const engine = new SwarmEngine(f.api, fast);
    const from = await engine.snapshot("shop_web");
    f.election = { calls: 1, applied: false };
    await expect(engine.createStandIn(from, "shop_web", "app:v2", {})).rejects.toThrow(
      /could not create the stand-in service shop_web: .*name conflicts/,
    );
  });

  it("reads wait for a leader: the tasks are listed once there is one", async () => {
    const f = new FakeServices();
    const engine = new SwarmEngine(f.api, fast);
    f.election = { calls: 3, applied: false };
    expect(await engine.tasks("shop_web")).toEqual([]);
    expect(f.election.calls).toBe(0);
  });
});
