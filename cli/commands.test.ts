import { describe, expect, it } from "vitest";
import type { Replica } from "../controller/model.js";
import type { Revision } from "../controller/ports.js";
import { undoTarget } from "./commands.js";
import { drift } from "./inspect.js";
import { withSettings } from "./options.js";

const by = { user: "ci", host: "runner", pid: 1 };
const rev = (number: number, tag: string, result: Revision["result"] = "complete"): Revision => ({
  number,
  image: { ref: `app:${tag}`, id: `sha256:${tag}` },
  by,
  at: `2026-11-0${number}T00:00:00Z`,
  result,
});
const replica = (over: Partial<Replica> = {}): Replica => ({
  id: "c1",
  name: "demo-web-1",
  number: 1,
  imageId: "sha256:v3",
  imageRef: "app:v3",
  running: true,
  health: "healthy",
  url: "http://10.0.0.1:8000",
  ...over,
});

describe("undoTarget", () => {
  // Newest first, as History.list returns them.
  const history = [rev(4, "v3"), rev(3, "v4", "rolled-back"), rev(2, "v2"), rev(1, "v1")];

  it("goes to the newest complete revision before the current one, skipping failed ones", () => {
    expect(undoTarget(history, "sha256:v3", [])).toMatchObject({ ref: "app:v2", why: "revision 2" });
  });

  it("skips older revisions of the image already running (undo after undo alternates)", () => {
    const h = [rev(3, "v2"), rev(2, "v3"), rev(1, "v2")];
    expect(undoTarget(h, "sha256:v2", [])).toMatchObject({ ref: "app:v3" });
  });

  it("takes --to-revision, refusing one that does not exist", () => {
    expect(undoTarget(history, "sha256:v3", [], 1)).toMatchObject({ ref: "app:v1" });
    expect(() => undoTarget(history, "sha256:v3", [], 9)).toThrow(/no revision 9/);
  });

  it("falls back on the running containers' labels when the history is empty", () => {
    const labelled = [replica({ previousImage: { ref: "app:v2", id: "sha256:v2" } })];
    expect(undoTarget([], "sha256:v3", labelled)).toMatchObject({
      ref: "app:v2",
      why: "the running containers' labels",
    });
    expect(undoTarget([], "sha256:v3", [replica()])).toBeUndefined();
  });
});

describe("drift", () => {
  it("is empty for a converged service", () => {
    expect(drift({ replicas: [replica()], routed: ["http://10.0.0.1:8000"] })).toEqual([]);
  });

  it("names unrouted containers, servers without containers, dead ones and mixed versions", () => {
    const obs = {
      replicas: [
        replica(),
        replica({ id: "c2", name: "demo-web-2", imageRef: "app:v2", url: "http://10.0.0.2:8000" }),
        replica({ id: "c3", name: "demo-web-3", running: false, exitCode: 137, url: "http://10.0.0.3:8000" }),
      ],
      routed: ["http://10.0.0.1:8000", "http://10.0.0.3:8000", "http://10.0.0.9:8000"],
    };
    expect(drift(obs)).toEqual([
      "demo-web-2 runs but Traefik does not route to it",
      "demo-web-3 is not running (exit 137)",
      "Traefik routes to http://10.0.0.9:8000, but no container is there",
      "mixed versions: app:v3, app:v2",
    ]);
  });
});

it("fills missing flags from the last revision's settings; given flags win", () => {
  const merged = withSettings(
    { traefikApi: "http://given:8080" },
    { traefikApi: "http://old:8080", traefikFile: "/srv/traefik/web.yml", unknown: "x" },
  );
  expect(merged).toEqual({ traefikApi: "http://given:8080", traefikFile: "/srv/traefik/web.yml" });
});
