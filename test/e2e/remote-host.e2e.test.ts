// A runner that shares nothing with the Docker host but the ssh connection to its engine:
// compose-roll runs in a mount namespace where the Traefik file's directory is an empty
// tmpfs, and Traefik's API is not published to the host at all (`--traefik-api
// http://traefik:8080` names the container). The Traefik file must then be written through
// SFTP and the API and entrypoint reached through streams the sshd forwards. The load runs
// on the host, outside the namespace, against the published entrypoint.
import { spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe, type ProbeReport } from "../load/probe.js";
import { type CliRun, containers, runCli } from "../support/cli.js";
import { type Sshd, startSshd } from "../support/remote.js";
import { composePlan, type DemoStack, PATIENT_HEALTH, startDemo } from "../support/stack.js";

let stack: DemoStack;
let sshd: Sshd;
let dynamic: string;

// biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation, matched as text
const API_PORT_LINE = '      - "127.0.0.1:${DEMO_API_PORT:-8080}:8080"\n';

beforeAll(async () => {
  [stack, sshd] = await Promise.all([
    // PATIENT_HEALTH: every engine call here crosses ssh, so a rollout is long; a 3 s probe
    // timeout marked a healthy replica unhealthy mid-rollout at load averages near 60.
    startDemo(
      "rhost",
      {},
      {
        ...PATIENT_HEALTH,
        prepare: (dir) => {
          PATIENT_HEALTH.prepare?.(dir);
          const file = join(dir, "compose.yaml");
          const text = readFileSync(file, "utf8");
          if (!text.includes(API_PORT_LINE)) throw new Error("the demo's API port line moved");
          writeFileSync(file, text.replace(API_PORT_LINE, ""));
        },
      },
    ),
    startSshd({ logLevel: "DEBUG1" }),
  ]);
  dynamic = join(stack.dir, "dynamic");
  const sync = await run(["sync", "web"]);
  expect(sync.code, sync.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await sshd?.stop();
  await stack?.down();
});

/** compose-roll in its own mount namespace, the Traefik file's directory hidden under a tmpfs. */
const hidden = () => [
  "unshare",
  "-m",
  "--propagation",
  "private",
  "sh",
  "-c",
  'mount -t tmpfs tmpfs "$0" && exec "$@"',
  dynamic,
];

function run(args: string[]): Promise<CliRun> {
  return runCli(
    [
      ...args,
      "-p",
      stack.project,
      "--traefik-file",
      join(dynamic, "web.yml"),
      "--traefik-api",
      "http://traefik:8080",
      "--traefik-url",
      stack.httpUrl,
      "--json",
    ],
    {
      cwd: stack.dir,
      prefix: hidden(),
      env: {
        ...stack.composeEnv,
        DOCKER_HOST: sshd.url,
        HOME: sshd.home,
        DOCKER_CONTEXT: "",
        DOCKER_TLS_VERIFY: "",
        DOCKER_CERT_PATH: "",
        SSH_AUTH_SOCK: "",
      },
    },
  );
}

async function underLoad(args: string[]): Promise<{ run: CliRun; load: ProbeReport; ms: number }> {
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
  const t0 = Date.now();
  const r = await run(args);
  const ms = Date.now() - t0;
  const load = await probe.stop();
  console.log(`${args.join(" ")}: exit ${r.code} in ${ms} ms; ${formatReport(load)}`);
  // What the rollout did, for whoever reads a failure below.
  console.log(
    r.events
      .map((e) => `${String(e.time).slice(11, 23)} ${e.type} ${e.name ?? ""} ${e.state ?? e.result ?? ""}`)
      .join("\n"),
  );
  if (r.stderr) console.log(r.stderr);
  if (load.failed > 0) {
    // Where the lost requests fell in the rollout, for the failure's reader.
    console.log(
      `load started ${new Date(t0).toISOString()}; failures at ${load.failures.map((f) => f.at.toFixed(1)).join(", ")} s`,
    );
    console.log(
      spawnSync("docker", ["logs", "--since", new Date(t0).toISOString(), `${stack.project}-traefik-1`], {
        encoding: "utf8",
      }).stderr.slice(-4000),
    );
  }
  return { run: r, load, ms };
}

/** The file on the host lists exactly the service's running containers, and no probe. */
async function expectFileMatches(image: string) {
  const cs = await containers(stack.project);
  expect(cs.map((c) => `${c.image} ${c.state} ${c.health}`)).toEqual(
    Array(3).fill(`${image} running healthy`),
  );
  const text = readFileSync(join(dynamic, "web.yml"), "utf8");
  expect(text).not.toMatch(/web-compose-roll-probe/);
  expect(text.match(/- url:/g)).toHaveLength(3);
  // The SFTP write kept the file's mode (0644 from the checkout copy).
  expect(statSync(join(dynamic, "web.yml")).mode & 0o777).toBe(0o644);
}

describe("ssh:// with the Traefik file and API reachable only on the Docker host", () => {
  it("the namespace really hides the file from the runner", () => {
    const seen = spawnSync(hidden()[0] ?? "unshare", [...hidden().slice(1), "ls", "-A", dynamic], {
      encoding: "utf8",
    });
    expect(seen.status, seen.stderr).toBe(0);
    expect(seen.stdout.trim()).toBe("");
    expect(readFileSync(join(dynamic, "web.yml"), "utf8")).toMatch(/Owned by compose-roll/);
  });

  it("rolls out, undoes and rolls back a broken image with 0 failed requests", async () => {
    // With a pre-deploy hook (a one-off container, through the Engine API over ssh) and smoke
    // and warm-up requests straight at each new container (streams the host's sshd forwards).
    const v2 = await underLoad([
      "web",
      "--image",
      "compose-roll-demo/app:v2",
      "--pre-deploy",
      `python3 -c "print('hook over ssh')"`,
      "--smoke",
      '/="release": "v2"',
      "--warmup",
      "/x5",
    ]);
    expect(v2.run.code, v2.run.stderr).toBe(0);
    expect(v2.load.failed, JSON.stringify(v2.load.failures)).toBe(0);
    await expectFileMatches("compose-roll-demo/app:v2");
    expect(v2.run.events.some((e) => e.type === "output" && e.line === "hook over ssh")).toBe(true);
    const checks = v2.run.events.filter((e) => e.type === "check").map((e) => String(e.detail));
    expect(checks.filter((d) => /^smoke check \/ on .*: 200, found/.test(d))).toHaveLength(3);
    expect(checks.filter((d) => /^warm-up \/ on .*5 of 5 requests/.test(d))).toHaveLength(3);
    expect(sshd.log()).toMatch(/direct_tcpip: originator .* target \S+ port 8000/);

    const undo = await underLoad(["undo", "web"]);
    expect(undo.run.code, undo.run.stderr).toBe(0);
    expect(undo.load.failed, JSON.stringify(undo.load.failures)).toBe(0);
    await expectFileMatches("compose-roll-demo/app:v1");

    const broken = await underLoad([
      "web",
      "--image",
      "compose-roll-demo/app:broken",
      "--health-timeout",
      "8s",
    ]);
    expect(broken.run.code, broken.run.stderr).toBe(5);
    expect(broken.run.stderr).toMatch(/rolled back; still serving compose-roll-demo\/app:v1/);
    expect(broken.load.failed, JSON.stringify(broken.load.failures)).toBe(0);
    expect(broken.load.releases).toEqual(["v1"]);
    await expectFileMatches("compose-roll-demo/app:v1");

    // The API and the entrypoint were reached through streams the Docker host's sshd opened.
    const traefikIp = spawnSync(
      "docker",
      [
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        `${stack.project}-traefik-1`,
      ],
      { encoding: "utf8" },
    ).stdout.trim();
    const forwards = sshd.log().match(/direct_tcpip: originator .* target \S+ port \d+/g) ?? [];
    expect(
      forwards.some((l) => traefikIp.split(" ").some((ip) => l.includes(`target ${ip} port 8080`))),
    ).toBe(true);
    expect(forwards.some((l) => l.includes(`port ${new URL(stack.httpUrl).port}`))).toBe(true);
    expect(sshd.log()).toMatch(/Starting session: subsystem 'sftp'/);
  }, 300_000);

  it("rolls a configuration change with no --image: compose creates the new containers through the ssh connection, 0 failed", async () => {
    appendFileSync(join(stack.dir, "compose.override.yaml"), '      DEMO_CHANGE: "over-ssh"\n');
    const r = await underLoad(["web"]);
    expect(r.run.code, r.run.stderr).toBe(0);
    expect(r.run.stderr).toMatch(/compose creates the new containers/);
    expect(r.load.failed, JSON.stringify(r.load.failures)).toBe(0);
    await expectFileMatches("compose-roll-demo/app:v1");
    const envs = (await containers(stack.project)).map(
      (c) =>
        spawnSync("docker", ["inspect", "-f", "{{json .Config.Env}}", c.name], { encoding: "utf8" }).stdout,
    );
    expect(envs.filter((e) => e.includes('"DEMO_CHANGE=over-ssh"'))).toHaveLength(3);
    // Compose now plans nothing for web: what it would create is what runs.
    const plan = await composePlan(stack);
    const web = plan.containers.filter((l) => /-web-\d/.test(l));
    expect(web, plan.stderr).toHaveLength(3);
    for (const l of web) expect(l, plan.stderr).toMatch(/Running/);
  }, 300_000);
});
