import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import type { Project } from "./project.js";
import { applyWrites, imageSource, planWriteBack, setEnv, spliceImage } from "./writeback.js";

function project(
  files: Record<string, string>,
  order: string[],
  rawImage: string | undefined,
  envFiles = [".env"],
): Project {
  const dir = join(mkdtempSync(join(tmpdir(), "cr-wb-")), "app");
  mkdirSync(dir);
  for (const [f, body] of Object.entries(files)) writeFileSync(join(dir, f), body);
  return {
    name: "app",
    dir,
    files: order.map((f) => join(dir, f)),
    envFiles: envFiles.map((f) => join(dir, f)),
    services: {},
    args: { files: [], envFiles: [], profiles: [] },
    rawImages: { web: rawImage },
  };
}

describe("spliceImage", () => {
  it("changes only the scalar's bytes, keeping comments, quotes and layout", () => {
    const text = 'services:\n  web:   # the app\n    image: "app:v1"  # pinned\n    ports: [ "80" ]\n';
    expect(spliceImage(text, "web", "app:v2", "f")).toBe(
      'services:\n  web:   # the app\n    image: "app:v2"  # pinned\n    ports: [ "80" ]\n',
    );
    expect(spliceImage("services: {web: {image: 'a:1'}}\n", "web", "reg:5000/a:2", "f")).toBe(
      "services: {web: {image: 'reg:5000/a:2'}}\n",
    );
    expect(
      spliceImage("services:\n  web:\n    image: a:1\n", "web", "a@sha256:" + "0".repeat(64), "f"),
    ).toContain(`image: a@sha256:${"0".repeat(64)}\n`);
  });

  it("refuses a block scalar", () => {
    expect(() => spliceImage("services:\n  web:\n    image: |\n      a:1\n", "web", "a:2", "f")).toThrow(
      RefusedError,
    );
  });
});

describe("setEnv", () => {
  it("updates every definition in place, keeping export, quotes, comments and order", () => {
    const text = "# prod\nA=1\nexport WEB_IMAGE='app:v1' # current\nB=2\n";
    expect(setEnv(text, "WEB_IMAGE", "app:v2")).toBe(
      "# prod\nA=1\nexport WEB_IMAGE='app:v2' # current\nB=2\n",
    );
    expect(setEnv('WEB_IMAGE = "x"\n', "WEB_IMAGE", "y")).toBe('WEB_IMAGE = "y"\n');
  });

  it("appends when absent, with a newline between", () => {
    expect(setEnv("A=1", "TAG", "v2")).toBe("A=1\nTAG=v2\n");
    expect(setEnv("", "TAG", "v2")).toBe("TAG=v2\n");
    expect(setEnv("TAGGED=1\n", "TAG", "v2")).toBe("TAGGED=1\nTAG=v2\n");
  });
});

describe("imageSource and planWriteBack", () => {
  it("finds a literal in the last -f file that declares it", () => {
    const p = project(
      {
        "a.yml": "services:\n  web:\n    image: app:v0\n",
        "b.yml": "services:\n  web:\n    image: app:v1 # here\n",
      },
      ["a.yml", "b.yml"],
      "app:v1",
    );
    expect(imageSource(p, "web")).toMatchObject({ kind: "literal", file: p.files[1] });
    const plan = planWriteBack(p, "web", "app:v2", {});
    expect(plan.writes).toHaveLength(1);
    expect(plan.writes[0]?.after).toBe("services:\n  web:\n    image: app:v2 # here\n");
    applyWrites(plan.writes);
    expect(readFileSync(p.files[1] as string, "utf8")).toBe("services:\n  web:\n    image: app:v2 # here\n");
    expect(readFileSync(p.files[0] as string, "utf8")).toBe("services:\n  web:\n    image: app:v0\n");
  });

  it("sets the variable in the env file that defines it, or appends to the last one", () => {
    const compose = "services:\n  web:\n    image: ${WEB_IMAGE:-app:v1}\n";
    const p = project(
      { "compose.yaml": compose, "a.env": "X=1\n", "b.env": "# b\n" },
      ["compose.yaml"],
      "${WEB_IMAGE:-app:v1}",
      ["a.env", "b.env"],
    );
    const plan = planWriteBack(p, "web", "app:v2", { WEB_IMAGE: "app:v1" });
    expect(plan.writes.map((w) => w.path)).toEqual([p.envFiles[1]]);
    expect(plan.writes[0]?.after).toBe("# b\nWEB_IMAGE=app:v2\n");
    expect(plan.warnings[0]).toMatch(/WEB_IMAGE is set in this shell/);
    writeFileSync(p.envFiles[0] as string, "WEB_IMAGE=app:v1\nX=1\n");
    expect(planWriteBack(p, "web", "app:v3", {}).writes.map((w) => [w.path, w.after])).toEqual([
      [p.envFiles[0], "WEB_IMAGE=app:v3\nX=1\n"],
    ]);
  });

  it("creates a missing .env, and fills only the variable part of app:${TAG}", () => {
    const p = project(
      { "compose.yaml": "services:\n  web:\n    image: reg/app:${TAG}\n" },
      ["compose.yaml"],
      "reg/app:${TAG}",
    );
    const plan = planWriteBack(p, "web", "reg/app:2026-04-24", {});
    expect(plan.writes[0]).toMatchObject({
      path: p.envFiles[0],
      before: undefined,
      after: "TAG=2026-04-24\n",
    });
    expect(() => planWriteBack(p, "web", "other/app:1", {})).toThrow(/does not fit `reg\/app:\$\{TAG\}`/);
  });

  it("refuses what it cannot write back exactly", () => {
    const two = project(
      { "compose.yaml": "services:\n  web:\n    image: ${REG}/app:${TAG}\n" },
      ["compose.yaml"],
      "${REG}/app:${TAG}",
    );
    expect(() => imageSource(two, "web")).toThrow(/one plain variable/);
    const ext = project(
      { "compose.yaml": "services:\n  web:\n    extends: {file: base.yml, service: web}\n" },
      ["compose.yaml"],
      "app:v1",
    );
    expect(() => imageSource(ext, "web")).toThrow(/cannot tell which file declares/);
  });

  it("keeps the file's mode past the umask, and its owner, on an atomic write", () => {
    const p = project({ "compose.yaml": "services:\n  web:\n    image: a:1\n" }, ["compose.yaml"], "a:1");
    const file = p.files[0] as string;
    chmodSync(file, 0o664); // group-writable: the default umask (022) would drop the g+w
    const root = process.getuid?.() === 0;
    if (root) chownSync(file, 1234, 5678);
    const before = statSync(file).ino;
    applyWrites(planWriteBack(p, "web", "a:2", {}).writes);
    const st = statSync(file);
    expect(st.ino).not.toBe(before); // renamed over, not rewritten in place
    expect(st.mode & 0o7777).toBe(0o664);
    if (root) expect([st.uid, st.gid]).toEqual([1234, 5678]);
    expect(readdirSync(dirname(file)).filter((f) => f.includes("compose-roll"))).toEqual([]);
  });

  it("keeps the file's mode on an atomic write", () => {
    const p = project({ "compose.yaml": "services:\n  web:\n    image: a:1\n" }, ["compose.yaml"], "a:1");
    chmodSync(p.files[0] as string, 0o600);
    applyWrites(planWriteBack(p, "web", "a:2", {}).writes);
    expect(statSync(p.files[0] as string).mode & 0o777).toBe(0o600);
  });
});

describe("write-back through links and planted temp names", () => {
  const root = process.getuid?.() === 0;
  const envProject = () =>
    project(
      { "compose.yaml": "services:\n  web:\n    image: ${WEB_IMAGE}\n" },
      ["compose.yaml"],
      "${WEB_IMAGE}",
    );
  const victim = (body: string) => {
    const file = join(mkdtempSync(join(tmpdir(), "cr-victim-")), "secret");
    writeFileSync(file, body);
    chmodSync(file, 0o600);
    return file;
  };

  it("never follows a link planted at the temp name it used to use", () => {
    const p = envProject();
    const env = p.envFiles[0] as string;
    writeFileSync(env, "WEB_IMAGE=app:v1\n");
    chmodSync(env, 0o664);
    if (root) chownSync(env, 1000, 1000);
    const secret = victim("root only\n");
    symlinkSync(secret, join(p.dir, `..env.compose-roll-${process.pid}.tmp`));
    applyWrites(planWriteBack(p, "web", "app:v2", {}).writes);
    expect(readFileSync(env, "utf8")).toBe("WEB_IMAGE=app:v2\n");
    expect(readFileSync(secret, "utf8")).toBe("root only\n");
    const st = statSync(secret);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid?.());
  });

  it("refuses, before any change, a symlinked .env whose target is outside the project", () => {
    const p = envProject();
    const secret = victim("WEB_IMAGE=app:v1\n");
    symlinkSync(secret, p.envFiles[0] as string);
    expect(() => planWriteBack(p, "web", "app:v2", {})).toThrow(RefusedError);
    expect(() => planWriteBack(p, "web", "app:v2", {})).toThrow(/\.env is a symbolic link to .*outside/);
    expect(readFileSync(secret, "utf8")).toBe("WEB_IMAGE=app:v1\n");
    expect(lstatSync(p.envFiles[0] as string).isSymbolicLink()).toBe(true);
  });

  it("writes a symlinked .env's target inside the project, keeping the link", () => {
    const p = envProject();
    mkdirSync(join(p.dir, "envs"));
    const real = join(p.dir, "envs", "prod.env");
    writeFileSync(real, "WEB_IMAGE=app:v1\n");
    symlinkSync("envs/prod.env", p.envFiles[0] as string);
    applyWrites(planWriteBack(p, "web", "app:v2", {}).writes);
    expect(readFileSync(real, "utf8")).toBe("WEB_IMAGE=app:v2\n");
    expect(lstatSync(p.envFiles[0] as string).isSymbolicLink()).toBe(true);
  });

  it.runIf(root)("refuses a link to a file inside the project that another user owns", () => {
    const p = envProject();
    const real = join(p.dir, "other.env");
    writeFileSync(real, "WEB_IMAGE=app:v1\n");
    chownSync(real, 4321, 4321);
    symlinkSync("other.env", p.envFiles[0] as string);
    expect(() => planWriteBack(p, "web", "app:v2", {})).toThrow(/owned by uid 4321/);
    expect(readFileSync(real, "utf8")).toBe("WEB_IMAGE=app:v1\n");
  });
});
