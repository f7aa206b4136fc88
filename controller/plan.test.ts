import { describe, expect, it } from "vitest";
import type { ImageInfo, Observation, Replica } from "./model.js";
import { planRollout } from "./plan.js";

const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };

function steady(n: number): Observation {
  const replicas: Replica[] = Array.from({ length: n }, (_, i) => ({
    id: `c${i + 1}`,
    name: `demo-web-${i + 1}`,
    number: i + 1,
    imageId: v1.id,
    imageRef: v1.ref,
    running: true,
    health: "healthy",
    url: `http://demo-web-${i + 1}:8000`,
  }));
  return { replicas, routed: replicas.map((r) => r.url as string) };
}

const name = (n: number) => `demo-web-${n}`;
const text = (steps: ReturnType<typeof planRollout>) =>
  steps.map((s) => `${s.kind} ${s.name.replace("demo-web-", "")}`).join(", ");

describe("planRollout", () => {
  it("3 replicas, surge 1: one new in, one old out, names reused while the last drain runs", () => {
    expect(text(planRollout(steady(3), { image: v2, replicas: 3, maxSurge: 1 }, name))).toBe(
      "start 4, route 4, retire 1, start 5, route 5, retire 2, start 1, route 1, retire 3",
    );
  });

  it("surge 3: all new boot side by side, then the old go", () => {
    expect(text(planRollout(steady(3), { image: v2, replicas: 3, maxSurge: 3 }, name))).toBe(
      "start 4, start 5, start 6, route 4, retire 1, route 5, retire 2, route 6, retire 3",
    );
  });

  it("plans nothing when the goal already holds, and a scale-down of one", () => {
    expect(planRollout(steady(2), { image: v1, replicas: 2, maxSurge: 1 }, name)).toEqual([]);
    expect(text(planRollout(steady(3), { image: v1, replicas: 2, maxSurge: 1 }, name))).toBe("retire 1");
  });
});
