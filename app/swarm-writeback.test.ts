// The Swarm write-back over the real compose adapter (compose/adapter.ts, compose/writeback.ts) on a
// stack file in a temporary directory: what it writes, when it writes nothing, what it refuses.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { composeProject } from "../compose/adapter.js";
import type { Project } from "../compose/project.js";
import { RefusedError } from "../controller/errors.js";
import { prepareSwarmWriteBack, writeBackAfterRepair } from "./swarm-writeback.js";

const STACK = `services:
  web:
    image: reg:5000/app:v1 # the app
    deploy:
      replicas: 3
`;

function stack(files: Record<string, string>, rawImage: string | null = "reg:5000/app:v1") {
  const dir = join(mkdtempSync(join(tmpdir(), "cr-swarm8-wb-")), "stack");
  mkdirSync(dir);
  for (const [f, body] of Object.entries(files)) writeFileSync(join(dir, f), body);
  const project: Project = {
    name: "shop",
    dir,
    files: Object.keys(files)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => join(dir, f)),
    envFiles: [join(dir, ".env")],
    services: rawImage ? { web: { image: rawImage } as never } : {},
    args: {
      files: Object.keys(files)
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => join(dir, f)),
      envFiles: [],
      profiles: [],
      projectName: "shop",
    },
    rawImages: rawImage ? { web: rawImage } : {},
  };
  return { dir, compose: composeProject(project, {}) };
}

function prepare(compose: ReturnType<typeof stack>["compose"], ref = "reg:5000/app:v2", write = true) {
  const said: string[] = [];
  const wb = prepareSwarmWriteBack({ compose, service: "web", ref, write, say: (l) => said.push(l) });
  return { wb, said };
}

describe("prepareSwarmWriteBack", () => {
  it("writes the new ref into the stack file's image scalar only, after the rollout", async () => {
    const { dir, compose } = stack({ "compose.yaml": STACK });
    const { wb, said } = prepare(compose);
    expect(wb.summary).toBe(`would write image: reg:5000/app:v2 in ${join(dir, "compose.yaml")}`);
    // Nothing is written before settle: the rollout has not run yet.
    expect(readFileSync(join(dir, "compose.yaml"), "utf8")).toBe(STACK);
    await wb.settle();
    expect(readFileSync(join(dir, "compose.yaml"), "utf8")).toBe(STACK.replace("app:v1", "app:v2"));
    expect(said).toEqual([
      `wrote image: reg:5000/app:v2 in ${join(dir, "compose.yaml")}: \`docker stack deploy\` of them keeps web on it`,
    ]);
    // Through an exclusive temp file, renamed over it: no temp file left.
    expect(readdirSync(dir)).toEqual(["compose.yaml"]);
  });

  it("no compose file found, or none declaring the service: one line, nothing written, no failure", async () => {
    const none = prepare({ files: [], image: () => undefined } as never);
    await none.wb.settle();
    expect(none.said).toEqual([
      "no compose file here, so none names reg:5000/app:v2; run compose-roll from the stack's directory (or -f the file you deploy it with) to keep it in step",
    ]);
    const other = "services:\n  db:\n    image: postgres:16\n";
    const { dir, compose } = stack({ "compose.yaml": other }, null);
    const { wb, said } = prepare(compose);
    await wb.settle();
    expect(said[0]).toMatch(
      /compose.yaml declare no service web, so none names reg:5000\/app:v2; nothing written/,
    );
    expect(readFileSync(join(dir, "compose.yaml"), "utf8")).toBe(other);
  });

  it("another run wrote the same ref first (a second pipeline that waited): the files already say it, no warning", async () => {
    const { dir, compose } = stack({ "compose.yaml": STACK });
    const { wb, said } = prepare(compose);
    const v2 = STACK.replace("reg:5000/app:v1", "reg:5000/app:v2");
    writeFileSync(join(dir, "compose.yaml"), v2);
    await wb.settle();
    expect(said).toEqual([expect.stringMatching(/^the files already say image: reg:5000\/app:v2 in /)]);
    expect(readFileSync(join(dir, "compose.yaml"), "utf8")).toBe(v2);
  });

  it("--no-write leaves the file and says what a stack deploy would then do", async () => {
    const { dir, compose } = stack({ "compose.yaml": STACK });
    const { wb, said } = prepare(compose, "reg:5000/app:v2", false);
    await wb.settle();
    expect(said[0]).toBe(
      "--no-write: the files still name reg:5000/app:v1, so `docker stack deploy` of them would put web back on it",
    );
    expect(readFileSync(join(dir, "compose.yaml"), "utf8")).toBe(STACK);
  });

  /** A stack whose compose.yaml is a link to a file outside its directory. */
  function linkedOutside() {
    const outside = mkdtempSync(join(tmpdir(), "cr-swarm8-wb-out-"));
    writeFileSync(join(outside, "real.yaml"), STACK);
    const { dir, compose } = stack({ "compose.yaml": STACK });
    const linked = join(dir, "compose.yaml");
    rmSync(linked);
    symlinkSync(join(outside, "real.yaml"), linked);
    return { real: join(outside, "real.yaml"), compose };
  }

  it("refuses before any change a stack file linked outside the stack's directory", () => {
    const { real, compose } = linkedOutside();
    expect(() => prepare(compose)).toThrow(RefusedError);
    expect(readFileSync(real, "utf8")).toBe(STACK);
  });

  it("after a repair, a stack file it may not write is one warning line, never a failure", async () => {
    const { real, compose } = linkedOutside();
    const said: string[] = [];
    await writeBackAfterRepair({
      compose,
      service: "web",
      ref: "reg:5000/app:v2",
      write: true,
      say: (l) => said.push(l),
    });
    expect(said).toEqual([expect.stringMatching(/^warning: the compose files were not updated: /)]);
    expect(readFileSync(real, "utf8")).toBe(STACK);
  });

  it("an image from a variable: written to the env file, with a warning that stack deploy reads no env file", async () => {
    const text = "services:\n  web:\n    image: reg:5000/app:${TAG}\n";
    const { dir, compose } = stack({ "compose.yaml": text, ".env": "TAG=v1\n" }, "reg:5000/app:${TAG}");
    const { wb, said } = prepare(compose);
    expect(said.join("\n")).toMatch(
      /image comes from \$\{TAG\}: `docker stack deploy` reads it from the shell's environment only/,
    );
    await wb.settle();
    expect(readFileSync(join(dir, ".env"), "utf8")).toBe("TAG=v2\n");
    expect(readFileSync(join(dir, "compose.yaml"), "utf8")).toBe(text);
  });

  it("a failed write after the rollout is a warning, never a failure", async () => {
    const { compose } = stack({ "compose.yaml": STACK });
    const { wb, said } = prepare({
      ...compose,
      files: compose.files,
      image: compose.image,
      planWriteBack: compose.planWriteBack,
      rewrite: async () => {
        throw new Error("disk full");
      },
    });
    await wb.settle();
    expect(said.at(-1)).toMatch(
      /^warning: the rollout succeeded but the compose files were not updated: disk full; set image: reg:5000\/app:v2 in /,
    );
  });
});
