// Brings up a private copy of examples/demo-labels (Traefik's Docker provider routes `web`
// by its labels) with testcontainers: its own project name and free loopback ports.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DemoStack, FAST_BOOT, IDLE_INTERVAL, LABEL_MODE_TIMEOUT, startDemo } from "./stack.js";

export type LabelsStack = Omit<DemoStack, "traefikFile"> & {
  /** The service as Traefik's API names it. */
  traefikService: string;
};

export async function startLabelsDemo(
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<LabelsStack> {
  // The app's boot delay and healthcheck timeout as startDemo sets them for the minimal stack
  // (demo-labels has no knob for them); compose reads compose.override.yaml by itself.
  const { traefikFile: _none, ...demo } = await startDemo(name, extraEnv, {
    example: "demo-labels",
    files: ["compose.yaml", "compose.override.yaml"],
    prepare: (dir) =>
      writeFileSync(
        join(dir, "compose.override.yaml"),
        `services:\n  traefik:\n    healthcheck:\n      interval: ${IDLE_INTERVAL}\n  web:\n    environment:\n      BOOT_DELAY: "${FAST_BOOT}"\n    healthcheck:\n      timeout: ${LABEL_MODE_TIMEOUT}\n`,
      ),
  });
  const stack: LabelsStack = {
    ...demo,
    traefikService: `web-${demo.project.replace(/[^a-zA-Z0-9]+/g, "-")}@docker`,
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
