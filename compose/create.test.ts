// createReplicas over a compose CLI that answers from a script: the IDs before and after the
// scale, and a `compose ps` that fails once because a container vanished while it looked.
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Project } from "./project.js";

const calls = vi.hoisted(() => ({ ps: 0, script: [] as (string | Error)[] }));
vi.mock("./cli.js", () => ({
  compose: async (_: unknown, args: string[]) => {
    if (args[0] !== "ps") return "";
    calls.ps++;
    const next = calls.script.shift();
    if (next instanceof Error) throw next;
    return next ?? "";
  },
}));
const { createReplicas } = await import("./create.js");

const project: Project = {
  name: "shop",
  dir: "/srv/shop",
  files: ["/srv/shop/compose.yaml"],
  envFiles: [],
  services: { web: { image: "app:v1" } as never },
  args: { files: ["/srv/shop/compose.yaml"], envFiles: [], profiles: [], projectName: "shop" },
};

beforeEach(() => {
  calls.ps = 0;
  calls.script = [];
});

describe("createReplicas", () => {
  it("asks compose ps again when an old container vanished while it listed (a drain ending)", async () => {
    calls.script = [
      new Error("docker compose ps web: No such container: 3ec9b5a1c42b"),
      "old1\nold2\n",
      "old1\nold2\nnew1\n",
    ];
    expect(await createReplicas(project, "web", 1, {})).toEqual(["new1"]);
    expect(calls.ps).toBe(3);
  });

  it("does not retry any other failure of compose ps", async () => {
    calls.script = [new Error("docker compose ps web: permission denied")];
    await expect(createReplicas(project, "web", 1, {})).rejects.toThrow(/permission denied/);
    expect(calls.ps).toBe(1);
  });
});
