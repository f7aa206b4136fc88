#!/usr/bin/env node
// Entry point: commander parses, cli/commands.ts orchestrates, and every error leaves
// through exitCodeFor() with one line saying what happened and what to do.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { ComposeRollError, ExitCode, exitCodeFor, RollbackFailedError } from "../controller/errors.js";
import { DEFAULTS, type RawOptions } from "./options.js";
import { visible } from "./reporter.js";

// Command modules (and zod, dockerode, yaml behind them) load only when their command runs:
// `--help` and a usage error need commander alone (issue 12: ≤ 300 ms, < 80 MB to start).
const commands = () => import("./commands.js");
const inspect = () => import("./inspect.js");

function shared(cmd: Command): Command {
  return (
    cmd
      .option("-f, --file <path>", "compose file (repeatable; default as docker compose)", collect, [])
      .option("-p, --project-name <name>", "compose project (default as docker compose)")
      .option(
        "--env-file <path>",
        "compose env file (repeatable; default as docker compose: .env)",
        collect,
        [],
      )
      .option("--profile <name>", "compose profile to enable (repeatable)", collect, [])
      .option(
        "--traefik-api <url>",
        `Traefik API base URL (default: the last rollout's, else ${DEFAULTS.traefikApi})`,
      )
      .option(
        "--traefik-url <url>",
        `Traefik entrypoint your service's routers use, for live probes (default: the last rollout's, else ${DEFAULTS.traefikUrl})`,
      )
      .option(
        "--traefik-file <path>",
        "the YAML file compose-roll owns, in the directory Traefik watches (default: last rollout's)",
      )
      .option("--traefik-service <name>", "Traefik service name (default: the compose service)")
      .option(
        "--port <n>",
        "container port Traefik targets on the new image (default: its single exposed port)",
      )
      .option("--network <name>", "network Traefik reaches the containers on (default: their only network)")
      .option(
        "--probe-path <path>",
        "path of the live request sent through Traefik to a new container (default /)",
      )
      // No commander defaults: they would hide COMPOSE_ROLL_* and x-compose-roll (cli/settings.ts).
      .option(
        "--health-timeout <duration>",
        `how long a new container may take to turn healthy (default ${DEFAULTS.healthTimeout})`,
      )
      .option(
        "--route-timeout <duration>",
        `how long Traefik may take to apply a change (default ${DEFAULTS.routeTimeout})`,
      )
      .option(
        "--drain <duration>",
        `how long a server stays out of Traefik before its container stops (default ${DEFAULTS.drain})`,
      )
      .option("--max-surge <n>", `new containers started side by side (default ${DEFAULTS.maxSurge})`)
      .option(
        "--drain-file <path>",
        `label mode: the file whose existence fails the healthcheck (default ${DEFAULTS.drainFile})`,
      )
      .option(
        "--drain-command <argv>",
        "label mode: command exec'd in an old container to fail its healthcheck (words or a JSON array)",
      )
      .option(
        "--allow-unsafe-drain",
        "label mode: roll even though nothing takes old containers out of Traefik before they stop",
      )
      .option(
        "--wait <duration>",
        "wait this long for another rollout's lock (default: fail at once, exit 3)",
      )
      .option(
        "--lock-stale-after <duration>",
        "only for a lock an older compose-roll took on another host (no lease): stale after this (default 30m)",
      )
      .option(
        "--lock-lease <duration>",
        "this run renews its lock every lease/6; dead elsewhere, it frees after one lease (default 60s)",
      )
      .option("--history-limit <n>", "revisions kept on the Docker host (default 10)")
      .option(
        "-H, --host <url>",
        "Docker engine: unix://, tcp:// (TLS: DOCKER_TLS_VERIFY), ssh://user@host (default: as docker)",
      )
      .option(
        "--context <name>",
        "Docker CLI context to use (default: DOCKER_CONTEXT, then `docker context use`)",
      )
      .option("--json", "one JSON event per line on stdout, for CI")
      .option("-v, --verbose", "debug logs on stderr")
  );
}

/** Only what the user typed: commander's defaults ([] for lists, true for --no-x) are not flags. */
async function given(raw: RawOptions, cmd: Command): Promise<RawOptions> {
  const { explicitFlags } = await import("./settings.js");
  return explicitFlags(raw, (key) => cmd.getOptionValueSource(key));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function program(): Command {
  const prog = new Command("compose-roll")
    .description("Roll a Docker Compose service to a new image behind Traefik with zero dropped requests.")
    .addHelpText(
      "after",
      "\nExit codes: 0 done, 1 unexpected error, 2 refused (nothing changed), 3 lock held,\n" +
        "            5 rolled back (still serving the previous image), 6 pre-deploy hook or migration gate failed\n" +
        "            (nothing changed), 7 rollback failed (see the state printed), 8 post-deploy hook failed",
    )
    // Usage errors are refusals too (exit 2, in main()), in compose-roll's one-line form;
    // subcommands inherit both settings.
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`compose-roll: ${oneLine(s.replace(/^error: /, ""))}\n`),
    })
    .showHelpAfterError("  what to do: see `compose-roll --help`, or `compose-roll <command> --help`");

  shared(prog.command("sync <service>"))
    .description(
      "write the Traefik file for the service's running containers and wait until Traefik serves it",
    )
    .action(async (service: string, raw: RawOptions, cmd: Command) =>
      (await commands()).syncCommand(service, await given(raw, cmd)),
    );

  shared(prog.command("undo [service]"))
    .description("roll back to the last complete revision before the current one, as a new revision")
    .option("--to-revision <n>", "roll back to this revision instead (see `history`)")
    .option("--no-write", "leave the compose files alone (they then still name the old image)")
    .option("--dry-run", "print the plan (settings and their sources, steps, file diffs); change nothing")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await commands()).undoCommand(service, await given(raw, cmd)),
    );

  shared(prog.command("repair [service]"))
    .description("after a killed rollout: converge back to the image it replaced, at full capacity")
    .option("--no-write", "leave the compose files alone")
    .option("--dry-run", "print the plan; change nothing")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await commands()).repairCommand(service, await given(raw, cmd)),
    );

  shared(prog.command("history [service]"))
    .description("list the service's revisions, kept on the Docker host")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await inspect()).historyCommand(service, await given(raw, cmd)),
    );

  shared(prog.command("status [service]"))
    .description("each container's image, health, Traefik membership and revision; flags drift")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await inspect()).statusCommand(service, await given(raw, cmd)),
    );

  const lock = prog.command("lock").description("the service's rollout lock on the Docker host");
  shared(lock.command("status [service]"))
    .description("who holds the lock, since when, rolling to what")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await inspect()).lockStatusCommand(service, await given(raw, cmd)),
    );
  shared(lock.command("release [service]"))
    .description("remove the lock (for a holder that died on another host)")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await inspect()).lockReleaseCommand(service, await given(raw, cmd)),
    );

  prog
    .command("install-plugin")
    .description(
      "make `docker roll ...` run compose-roll: writes docker-roll into $DOCKER_CONFIG/cli-plugins",
    )
    .option("--dir <path>", "plugin directory (default: ~/.docker/cli-plugins)")
    .action(async (raw: { dir?: string }) => (await import("./plugin.js")).installPluginCommand(raw));

  shared(prog.command("roll <service>", { isDefault: true }))
    .description(
      "roll the service to a new image, one replica at a time (`compose-roll <service> --image <ref>`)",
    )
    .requiredOption("--image <ref>", "the image to roll to (pulled first when not on the Docker host)")
    .option(
      "--pull <policy>",
      "missing: pull the image only when it is not on the Docker host; always; never (default: the service's pull_policy, else missing)",
    )
    .option("--no-write", "leave the compose files alone (they then still name the old image)")
    .option("--dry-run", "print the plan (settings and their sources, steps, file diffs); change nothing")
    .option(
      "--pre-deploy <command>",
      "run this in a one-off container of the NEW image before any traffic moves (e.g. a migration); no shell",
    )
    .option(
      "--pre-deploy-timeout <duration>",
      `kill the pre-deploy command after this (default ${DEFAULTS.preDeployTimeout})`,
    )
    .option(
      "--post-deploy <command>",
      "run this in a one-off container of the new image after a complete rollout",
    )
    .option(
      "--post-deploy-timeout <duration>",
      `kill the post-deploy command after this (default ${DEFAULTS.postDeployTimeout})`,
    )
    .option(
      "--migration-gate <mode>",
      "before a Django `migrate` pre-deploy hook, judge its plan: refuse, warn or off (default refuse)",
    )
    .option("--allow-breaking", "let a migration the gate calls breaking through, with a warning")
    .option(
      "--warmup <path[xN]>",
      "send N requests (default 10) to each new container before it joins Traefik (repeatable)",
      collect,
      [],
    )
    .option(
      "--smoke <path=text>",
      "each new container must answer path with 2xx containing text before it joins Traefik (repeatable)",
      collect,
      [],
    )
    .option(
      "--check-host <name>",
      "Host header of warm-up and smoke requests (default: the container's address)",
    )
    .action(async (service: string, raw: RawOptions, cmd: Command) =>
      (await commands()).rollCommand(service, await given(raw, cmd)),
    );
  return prog;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors are refusals.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.refused;
    }
    report(err);
    return exitCodeFor(err);
  }
}

function report(err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`compose-roll: ${oneLine(e.message)}\n`);
  if (e instanceof ComposeRollError && e.hint) process.stderr.write(`  what to do: ${oneLine(e.hint)}\n`);
  if (e instanceof RollbackFailedError) {
    process.stderr.write(
      "  state now (fix what failed, then `compose-roll repair`, which resumes from the kept lock):\n",
    );
    for (const line of e.state) process.stderr.write(`    ${visible(line)}\n`);
  }
  if (!(e instanceof ComposeRollError) && e.stack) process.stderr.write(`${e.stack}\n`);
}

/** One line whatever a message quotes (a compose error, a label's value), controls escaped. */
function oneLine(text: string): string {
  return visible(text.trim().replace(/\r\n/g, "\n"));
}

/** Runs the CLI on `argv` (node, script, args...) and sets the exit code. */
export function run(argv: string[]): Promise<void> {
  // Nothing may end the process while a command runs. HTTP timeouts (AbortSignal.timeout) do
  // not hold the event loop, and the ssh connection's socket is unref'd whenever no channel
  // is counted busy, so a wait on those alone could let Node exit early, with code 0, in the
  // middle of a rollout (seen once over ssh under heavy load). The interval holds the loop
  // until main() settles; should the process end anyway (a process.exit somewhere), it is
  // never reported as success.
  const hold = setInterval(() => {}, 60_000);
  const unfinished = () => {
    process.stderr.write(
      "compose-roll: stopped before finishing: a request to Docker or Traefik was never answered (connection lost?)\n" +
        "  what to do: check the connection to the Docker host, then `compose-roll repair`\n",
    );
    process.exitCode = ExitCode.rollbackFailed;
  };
  process.once("exit", unfinished);
  return main(argv)
    .then((code) => {
      process.exitCode = code;
    })
    .finally(() => {
      process.off("exit", unfinished);
      clearInterval(hold);
    });
}

// Run when started as `node dist/cli/main.js`; cli/entry.ts (the installed bin) calls run()
// itself, and tests import program() without running anything.
if (startedAsThisFile()) void run(process.argv);

function startedAsThisFile(): boolean {
  try {
    return Boolean(process.argv[1]) && realpathSync(process.argv[1] ?? "") === fileURLToPath(import.meta.url);
  } catch {
    return false; // argv[1] is no file (e.g. "docker roll", set by cli/entry.ts)
  }
}
