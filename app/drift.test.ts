import { describe, expect, it } from "vitest";
import { aReplica as replica } from "../controller/fakes.test-support.js";
import { drift } from "./drift.js";

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
