// Brings up a private copy of examples/demo with testcontainers: its own project name,
// free loopback ports and its own dynamic/ directory, so tests never share state and
// compose-roll can rewrite the Traefik file freely.
import { cpSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, Wait } from "testcontainers";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface DemoStack {
  dir: string;
  project: string;
  httpUrl: string;
  apiUrl: string;
  traefikFile: string;
  env: StartedDockerComposeEnvironment;
  down(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

export async function startDemo(name: string, extraEnv: Record<string, string> = {}): Promise<DemoStack> {
  const dir = join(mkdtempSync(join(tmpdir(), "compose-roll-e2e-")), "demo");
  cpSync(join(ROOT, "examples/demo"), dir, { recursive: true });
  const [http, api] = [await freePort(), await freePort()];
  const project = `cr-${name}-${process.pid}`.toLowerCase();
  const env = await new DockerComposeEnvironment(dir, "compose.yaml")
    .withProjectName(project)
    .withEnvironment({ DEMO_HTTP_PORT: String(http), DEMO_API_PORT: String(api), ...extraEnv })
    .withWaitStrategy("traefik-1", Wait.forHealthCheck())
    .withWaitStrategy("web-1", Wait.forHealthCheck())
    .withWaitStrategy("web-2", Wait.forHealthCheck())
    .withWaitStrategy("web-3", Wait.forHealthCheck())
    .up();
  return {
    dir,
    project,
    httpUrl: `http://127.0.0.1:${http}`,
    apiUrl: `http://127.0.0.1:${api}`,
    traefikFile: join(dir, "dynamic/web.yml"),
    env,
    // compose-roll's containers carry the project's labels, so `down` removes them too.
    down: () => env.down({ timeout: 10_000, removeVolumes: true }).then(() => undefined),
  };
}
