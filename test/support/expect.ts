// Assertions more than one e2e file makes about a demo stack (vitest only: soak and demo, which
// run under plain node, import cli.ts and must not load vitest).
import { expect } from "vitest";
import { containers, runCli } from "./cli.js";
import type { DemoStack } from "./stack.js";

/** All 3 of the stack's web containers running, healthy, on `image`. */
export async function expectAllOn(stack: DemoStack, image: string): Promise<void> {
  const cs = await containers(stack.project);
  expect(cs.map((c) => `${c.image} ${c.state} ${c.health}`)).toEqual(
    Array(3).fill(`${image} running healthy`),
  );
}

/** `compose-roll lock status --json`: the lock of the stack's web service, or null when free. */
export async function lockStatus(stack: DemoStack): Promise<Record<string, unknown> | null> {
  const st = await runCli(["lock", "status", "web", "-p", stack.project, "--json"], { cwd: stack.dir });
  expect(st.code, st.stderr).toBe(0);
  return (JSON.parse(st.stdout) as { lock: Record<string, unknown> | null }).lock;
}
