// Brings up a private copy of examples/demo-labels (Traefik's Docker provider routes `web`
// by its labels) with testcontainers: its own project name and free loopback ports.
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, Wait } from "testcontainers";
import { freePort, ROOT } from "./stack.js";

export interface LabelsStack {
  dir: string;
  project: string;
  httpUrl: string;
  apiUrl: string;
  /** The service as Traefik's API names it. */
  traefikService: string;
  env: StartedDockerComposeEnvironment;
  down(): Promise<void>;
}

export async function startLabelsDemo(
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<LabelsStack> {
  const dir = join(mkdtempSync(join(tmpdir(), "compose-roll-e2e-")), "demo-labels");
  cpSync(join(ROOT, "examples/demo-labels"), dir, { recursive: true });
  const [http, api] = [await freePort(), await freePort()];
  const project = `cr-${name}-${process.pid}`.toLowerCase();
  const env = await new DockerComposeEnvironment(dir, ["compose.yaml"])
    .withProjectName(project)
    .withEnvironment({ DEMO_HTTP_PORT: String(http), DEMO_API_PORT: String(api), ...extraEnv })
    .withWaitStrategy("traefik-1", Wait.forHealthCheck())
    .withWaitStrategy("web-1", Wait.forHealthCheck())
    .withWaitStrategy("web-2", Wait.forHealthCheck())
    .withWaitStrategy("web-3", Wait.forHealthCheck())
    .up();
  const stack: LabelsStack = {
    dir,
    project,
    httpUrl: `http://127.0.0.1:${http}`,
    apiUrl: `http://127.0.0.1:${api}`,
    traefikService: `web-${project.replace(/[^a-zA-Z0-9]+/g, "-")}@docker`,
    env,
    down: async () => {
      await env.down({ timeout: 10_000, removeVolumes: true });
      const docker = new Docker();
      const state = await docker.listContainers({
        all: true,
        filters: { label: [`com.compose-roll.project=${project}`] },
      });
      await Promise.all(state.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    },
  };
  await waitForServers(stack, 3);
  return stack;
}

/** Traefik adds healthy containers within its provider throttle: wait until it lists `n`. */
export async function waitForServers(stack: LabelsStack, n: number, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  while (Date.now() < deadline) {
    const res = await fetch(
      `${stack.apiUrl}/api/http/services/${encodeURIComponent(stack.traefikService)}`,
    ).catch(() => undefined);
    if (res?.ok) {
      const body = (await res.json()) as { loadBalancer?: { servers?: { url: string }[] } };
      last = (body.loadBalancer?.servers ?? []).map((s) => s.url);
      if (last.length === n) return last;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Traefik lists ${last.length} servers for ${stack.traefikService}, not ${n}`);
}

/** The flags that point compose-roll at a labels stack: no --traefik-file, the mode is detected. */
export function labelsArgs(stack: LabelsStack): string[] {
  return ["-p", stack.project, "--traefik-api", stack.apiUrl, "--traefik-url", stack.httpUrl];
}
