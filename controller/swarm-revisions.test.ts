import { describe, expect, it } from "vitest";
import type { Revision } from "./records.js";
import { swarmUndoTarget, tagOf } from "./swarm-revisions.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const pin = (tag: string, c: string) => `reg/app:${tag}@${d(c)}`;
const by = { user: "ci", host: "runner", pid: 1 };
/** Revision `n` rolling to `tag` (pinned with digest `c`), replacing `prev`. */
function rev(
  n: number,
  tag: string,
  c: string,
  prev?: string,
  result: Revision["result"] = "complete",
): Revision {
  return {
    number: n,
    image: { ref: `reg/app:${tag}`, id: pin(tag, c) },
    by,
    at: `2026-01-01T00:0${n}:00.000Z`,
    result,
    ...(prev ? { previousImage: { ref: prev, id: prev } } : {}),
  };
}

describe("tagOf", () => {
  it("drops the digest of a tagged ref and keeps a ref named by digest alone", () => {
    expect(tagOf(pin("v1", "a"))).toBe("reg/app:v1");
    expect(tagOf("registry:5000/team/app:v2@sha256:abc")).toBe("registry:5000/team/app:v2");
    expect(tagOf("registry:5000/team/app@sha256:abc")).toBe("registry:5000/team/app@sha256:abc");
    expect(tagOf("app:v3")).toBe("app:v3");
  });
});

describe("swarmUndoTarget", () => {
  it("is undefined with nothing recorded, or only a rolled-back rollout", () => {
    expect(swarmUndoTarget([], pin("v1", "a"))).toBeUndefined();
    expect(
      swarmUndoTarget([rev(1, "v2", "b", pin("v1", "a"), "rolled-back")], pin("v1", "a")),
    ).toBeUndefined();
  });

  it("after the first rollout: the image its record says it replaced, by digest, with its tag", () => {
    expect(swarmUndoTarget([rev(1, "v2", "b", pin("v1", "a"))], pin("v2", "b"))).toEqual({
      ref: "reg/app:v1",
      pinned: pin("v1", "a"),
      why: "the image revision 1 replaced",
    });
  });

  it("the newest complete revision before the running one whose image differs, skipping rolled-back ones", () => {
    const history = [
      rev(4, "v4", "d", pin("v3", "c"), "rolled-back"),
      rev(3, "v3", "c", pin("v2", "b")),
      rev(2, "v2", "b", pin("v1", "a")),
      rev(1, "v1", "a"),
    ];
    expect(swarmUndoTarget(history, pin("v3", "c"))).toMatchObject({
      pinned: pin("v2", "b"),
      why: "revision 2",
    });
  });

  it("undo of an undo goes forward again, as Kubernetes' rollback does", () => {
    const history = [rev(2, "v1", "a", pin("v2", "b")), rev(1, "v2", "b", pin("v1", "a"))];
    expect(swarmUndoTarget(history, pin("v1", "a"))).toMatchObject({
      pinned: pin("v2", "b"),
      ref: "reg/app:v2",
    });
  });

  it("--to-revision names one; one not kept is refused", () => {
    const history = [rev(3, "v3", "c"), rev(2, "v2", "b"), rev(1, "v1", "a")];
    expect(swarmUndoTarget(history, pin("v3", "c"), 1)).toMatchObject({
      pinned: pin("v1", "a"),
      why: "revision 1",
    });
    expect(() => swarmUndoTarget(history, pin("v3", "c"), 9)).toThrow(
      /no revision 9 in the history \(kept: 3, 2, 1\)/,
    );
  });
});
