// `undo` on a Swarm, on the fakes of app/swarm.test-support.ts: the same stand-in rollout as a
// roll (the fake cluster refuses to stop a task Traefik still lists), to the pinned image recorded.
import { describe, expect, it } from "vitest";
import { RefusedError, RolledBackError } from "../controller/errors.js";
import type { Revision } from "../controller/ports.js";
import { context, FakeSwarm, L, type Svc } from "./swarm.test-support.js";
import { rollSwarm } from "./swarm-roll.js";
import { undoSwarm } from "./swarm-undo.js";

const digest = (tag: string) => `sha256:${tag.replace(/\D/g, "").padStart(64, "0")}`;
const V1 = `reg/app:v1@${digest("v1")}`;
const V2 = `reg/app:v2@${digest("v2")}`;

/** As `docker stack deploy` leaves it: pinned by digest, its stack label naming the tag. */
function deployed(): { f: FakeSwarm; web: Svc } {
  const f = new FakeSwarm("reg/app:broken");
  const web = f.services.get("shop_web") as Svc;
  web.image = V1;
  web.labels = { ...L, "com.docker.stack.image": "reg/app:v1" };
  f.resolve = async (i: string) => (i.includes("@") ? i : `${i}@${digest(i)}`);
  return { f, web };
}

describe("undoSwarm", () => {
  it("after a rollout puts the image it replaced back, by digest, its stack label naming the tag, as a new revision", async () => {
    const { f, web } = deployed();
    const records: Revision[] = [];
    const ctx = context(f, records);
    await rollSwarm(ctx, "reg/app:v2");
    expect(web.image).toBe(V2);
    const r = await undoSwarm(ctx);
    expect(r).toMatchObject({ from: V2, to: V1, revision: 2 });
    expect(web.image).toBe(V1);
    expect(web.labels).toEqual({ ...L, "com.docker.stack.image": "reg/app:v1" });
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(records[0]).toMatchObject({
      number: 2,
      result: "complete",
      image: { ref: "reg/app:v1", id: V1 },
      previousImage: { id: V2 },
      previous: 1,
    });
    // And once more: forward to v2, as Kubernetes' rollback of a rollback does.
    await undoSwarm(ctx);
    expect(web.image).toBe(V2);
    expect(web.labels["com.docker.stack.image"]).toBe("reg/app:v2");
    expect(records.map((x) => x.number)).toEqual([3, 2, 1]);
  });

  it("--to-revision rolls to the revision named", async () => {
    const { f, web } = deployed();
    const records: Revision[] = [];
    const ctx = context(f, records);
    for (const tag of ["v2", "v3", "v4"]) await rollSwarm(ctx, `reg/app:${tag}`);
    await undoSwarm(ctx, 1);
    expect(web.image).toBe(V2);
    expect(records[0]).toMatchObject({ number: 4, image: { ref: "reg/app:v2" } });
  });

  it("refuses, changing nothing, when nothing earlier is recorded (none, or only a rolled-back rollout)", async () => {
    const { f, web } = deployed();
    const records: Revision[] = [];
    const ctx = context(f, records);
    const none = await undoSwarm(ctx).catch((e: Error) => e);
    expect(none).toBeInstanceOf(RefusedError);
    expect((none as Error).message).toMatch(
      /no earlier image of shop_web is recorded in the cluster to undo to/,
    );
    await expect(rollSwarm(ctx, "reg/app:broken")).rejects.toBeInstanceOf(RolledBackError);
    const version = web.version;
    await expect(undoSwarm(ctx)).rejects.toBeInstanceOf(RefusedError);
    expect(web).toMatchObject({ image: V1, version });
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(records.map((x) => x.result)).toEqual(["rolled-back"]);
  });

  it("an earlier image that no longer starts: rolled back (exit 5), the service untouched, recorded so", async () => {
    const { f, web } = deployed();
    const broken = `reg/app:broken@${digest("9")}`;
    const rec = (number: number, id: string): Revision => ({
      number,
      image: { ref: id.split("@")[0] as string, id },
      by: { user: "ci", host: "h", pid: 1 },
      at: `2026-01-01T00:0${number}:00.000Z`,
      result: "complete",
    });
    const records = [rec(2, V1), rec(1, broken)];
    const err = await undoSwarm(context(f, records)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect((err as Error).message).toMatch(/^shop_web stays on reg\/app:v1@/);
    expect(web).toMatchObject({ image: V1, version: 10 });
    expect([...f.services.keys()]).toEqual(["shop_web"]);
    expect(records[0]).toMatchObject({ number: 3, result: "rolled-back", image: { id: broken } });
  });
});
