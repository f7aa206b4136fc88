// compose-roll against Swarm stack services on the real 3-manager testbed: each rule refuses with
// exit 2 and one line naming it, sync says it is not needed, and no run changes a service's spec
// version. One stack, six services of one task each (placement constraints keep them small),
// shared by every case.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import {
  appImage,
  dockerOn,
  removeStack,
  runningTasks,
  type Testbed,
  testbedEnv,
  waitFor,
} from "../support/swarm.js";

let tb: Testbed;
let dir: string;
let stack: string;

/** One service of the stack: the demo app on node1 unless `deploy` says otherwise. */
function service(name: string, deploy: string, labels = "deploy"): string {
  const router = `${stack}-${name}`;
  const traefik = `traefik.enable: "true"
        traefik.http.routers.${router}.rule: PathPrefix(\`/${name}\`)
        traefik.http.services.${router}.loadbalancer.server.port: "8000"`;
  return `  ${name}:
    image: ${appImage(tb, "v1")}
    networks: [${tb.network}]
${labels === "container" ? `    labels:\n      ${traefik.replaceAll("\n        ", "\n      ")}\n` : ""}    deploy:
${deploy}${labels === "deploy" ? `      labels:\n        ${traefik}\n` : ""}`;
}

const onNode1 = "      placement:\n        constraints: [node.hostname==crsw-node1]\n";

function stackYaml(): string {
  return `services:
${service("ok", "      replicas: 2\n")}${service("tight", `      replicas: 1\n${onNode1.replace("\n        constraints", "\n        max_replicas_per_node: 1\n        constraints")}`)}${service("everywhere", `      mode: global\n${onNode1}`)}${service("vip", `      replicas: 1\n${onNode1}      labels:\n        traefik.swarm.lbswarm: "true"\n`, "none")}${service("bare", `      replicas: 1\n${onNode1}`, "container")}networks:
  ${tb.network}:
    external: true
`;
}

const version = async (svc: string) =>
  Number(await dockerOn(tb, 1, ["service", "inspect", "--format", "{{.Version.Index}}", `${stack}_${svc}`]));

/**
 * compose-roll <svc> --image v2 (or `args`) against node `n`'s engine, with the spec versions it
 * must leave alone.
 */
async function roll(svc: string, n = 1, extra: string[] = [], args = [svc, "--image", appImage(tb, "v2")]) {
  const before = await version(svc);
  const run = await runCli([...args, "-f", join(dir, "compose.yaml"), "-p", stack, ...extra], {
    cwd: dir,
    env: { DOCKER_HOST: `unix://${tb.sockets[n - 1]}` },
  });
  expect(await version(svc)).toBe(before);
  const line = run.stderr.split("\n").find((l) => l.startsWith("compose-roll:")) ?? run.stderr;
  return { code: run.code, line, stderr: run.stderr, stdout: run.stdout };
}

beforeAll(async () => {
  tb = await testbedEnv();
  stack = `${tb.prefix}-swarm2`;
  dir = mkdtempSync(join(tmpdir(), `${stack}-`));
  writeFileSync(join(dir, "compose.yaml"), stackYaml());
  await removeStack(tb, stack);
  await dockerOn(tb, 1, ["stack", "deploy", "-c", join(dir, "compose.yaml"), stack]);
  const want = { ok: 2, tight: 1, everywhere: 1, vip: 1, bare: 1 };
  await waitFor(180_000, `the tasks of stack ${stack}`, async () => {
    const running = await Promise.all(Object.keys(want).map((s) => runningTasks(tb, `${stack}_${s}`)));
    return running.every((r, i) => r.length === Object.values(want)[i]);
  });
});

afterAll(async () => {
  if (tb && stack) await removeStack(tb, stack);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("compose-roll on a Swarm stack service", () => {
  it("refuses a global service", async () => {
    const r = await roll("everywhere");
    expect(r.code).toBe(2);
    expect(r.line).toMatch(/everywhere runs in global mode/);
  });

  it("refuses VIP routing (lbswarm)", async () => {
    const r = await roll("vip");
    expect(r.code).toBe(2);
    expect(r.line).toMatch(/sets traefik\.swarm\.lbswarm=true/);
  });

  it("refuses traefik labels on the containers instead of the service", async () => {
    const r = await roll("bare");
    expect(r.code).toBe(2);
    expect(r.line).toMatch(/traefik\.\* labels on the containers/);
  });

  it("refuses a placement with no room for one more task (max 1 per node, one eligible node)", async () => {
    const r = await roll("tight");
    expect(r.code).toBe(2);
    expect(r.line).toMatch(/room for 2 tasks .* max_replicas_per_node 1 × 1 eligible node\(s\) allows 1/);
  });

  it("sync on a service that passes every rule: Traefik's Swarm provider keeps it in sync, one line, exit 0", async () => {
    const r = await roll("ok", 1, [], ["sync", "ok"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.line).toBe(
      `compose-roll: ${stack}_ok is routed by its Swarm service labels (${stack}-ok@swarm): Traefik keeps it in sync itself; sync is not needed`,
    );
  });

  it("a dry run prints the stand-in rollout's plan (table and --json) and leaves the spec version unchanged", async () => {
    const r = await roll("ok", 1, ["--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^dry run: nothing was changed/);
    expect(r.stdout).toMatch(
      /rollout: .*:v1@sha256:\w+ → .*:v2 \(.*:v2@sha256:\w+\), 2 replica\(s\), 4 tasks at peak/,
    );
    expect(r.stdout).toMatch(
      new RegExp(
        `  1\\. start 2 one-task stand-in service\\(s\\) .*\\(${stack}_ok-standin-1 … ${stack}_ok-standin-2\\)`,
      ),
    );
    expect(r.stdout).toMatch(/ {2}6\. update .* unchanged/);
    expect(r.stdout).toMatch(/lock: free/);
    expect(r.stdout).toMatch(/compose files: would write image: \S+:v2 in \S+compose\.yaml/);
    expect(readFileSync(join(dir, "compose.yaml"), "utf8")).toBe(stackYaml());
    const j = await roll("ok", 1, ["--dry-run", "--json"]);
    expect(j.code, j.stderr).toBe(0);
    const plan = JSON.parse(j.stdout);
    expect(plan).toMatchObject({ type: "plan", replicas: 2, peakTasks: 4 });
    expect(plan.steps).toHaveLength(6);
    expect(plan.settings.map((s: { key: string }) => s.key)).toContain("drain");
  });

  it("refuses a worker engine (node3 demoted for this case, promoted back after)", async () => {
    const isManager = async () =>
      (await dockerOn(tb, 3, ["info", "--format", "{{.Swarm.ControlAvailable}}"])) === "true";
    await dockerOn(tb, 1, ["node", "demote", "crsw-node3"]);
    try {
      await waitFor(60_000, "node3 a worker", async () => !(await isManager()));
      const r = await roll("ok", 3);
      expect(r.code).toBe(2);
      expect(r.line).toMatch(/this Docker host is a Swarm worker/);
    } finally {
      // A promote right after the demotion can meet Swarm's own update of that node ("update out
      // of sequence"): again until it goes through.
      await waitFor(60_000, "node3 promoted", () =>
        dockerOn(tb, 1, ["node", "promote", "crsw-node3"]).then(
          () => true,
          () => false,
        ),
      );
      await waitFor(60_000, "node3 a manager again", isManager);
    }
  });
});
