// What a command can start before the rest of the CLI has loaded. Loading the command's code
// (dockerode, the controller) takes ~0.1–0.2 s of CPU, and so does `docker compose config`, in
// its own process: started first, the two overlap, and `compose-roll status` answers sooner
// (issue 12: ≤ 300 ms). Only what cannot change anything starts early, and it is only a head
// start: openContext() asks for the same calls and takes these results when they match
// (compose/cli.ts prestart); a failure is reported there, in its usual place and order.
import { type ProjectInput, prestartProject } from "../compose/files.js";
import { resolveHost } from "../engine/host.js";
import type { RawOptions } from "./options.js";

/** The compose project openContext() loads, from the command line and the environment. */
export function projectInput(
  raw: RawOptions,
  env: Record<string, string | undefined>,
  rawImages: boolean,
): ProjectInput {
  return {
    files: raw.file ?? [],
    cwd: process.cwd(),
    env,
    envFiles: raw.envFile ?? [],
    profiles: raw.profile ?? [],
    rawImages,
    ...(raw.projectName ? { projectName: raw.projectName } : {}),
  };
}

/**
 * Starts the command's `docker compose config` calls. Not over ssh: there compose reaches the
 * engine through compose-roll's own connection, which does not exist yet.
 */
export function startEarly(raw: RawOptions, writeBack: boolean): void {
  try {
    const host = resolveHost({ host: raw.host, context: raw.context }, process.env);
    if (host.endpoint.kind === "ssh") return;
    prestartProject(projectInput(raw, { ...process.env, ...host.cliEnv }, writeBack));
  } catch {
    // Bad flags or files: openContext() refuses them with the full message.
  }
}
