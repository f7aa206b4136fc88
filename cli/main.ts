#!/usr/bin/env node
// Entry point: commander parses, cli/commands.ts orchestrates, and every error leaves
// through exitCodeFor() with one line saying what happened and what to do.
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import {
  ComposeRollError,
  EXIT_CODES,
  ExitCode,
  exitCodeFor,
  RollbackFailedError,
} from "../controller/errors.js";
import type { RawOptions } from "./options.js";
import { visible } from "./reporter.js";
import { type CommandName, flagSpec, helpLine, OPTIONS } from "./table/index.js";

// Command modules (and zod, dockerode, yaml behind them) load only when their command runs:
// `--help` and a usage error need commander alone (≤ 300 ms, < 80 MB to start).
const commands = () => import("./commands.js");
const inspect = () => import("./inspect.js");

/** The command's options, from the option table (cli/table/), in its order. */
function withOptions(cmd: Command, name: CommandName): Command {
  for (const o of OPTIONS) {
    if (!o.commands.includes(name)) continue;
    // No commander defaults: they would hide COMPOSE_ROLL_* and x-compose-roll (cli/settings.ts).
    if (o.repeatable) cmd.option(flagSpec(o), helpLine(o), collect, []);
    // --image is required by `roll` only: `up` rolls to what the files say unless given one.
    else if (o.required && name !== "up") cmd.requiredOption(flagSpec(o), helpLine(o));
    else cmd.option(flagSpec(o), helpLine(o));
  }
  return cmd;
}

/** The exit codes for `--help`, from controller/errors.ts's table. */
export function exitCodesHelp(): string {
  return `\nExit codes:\n${EXIT_CODES.map((r) => `  ${r.code}  ${r.short}`).join("\n")}`;
}

/**
 * compose-roll's version, from its package.json: two directories up from the bundle or the
 * modules tsc emits (dist/cli/), one up from the sources (cli/, under test).
 */
export function packageVersion(): string {
  for (const up of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as Record<string, unknown>;
      if (pkg.name === "compose-roll" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not there: the next candidate
    }
  }
  return "unknown";
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
    .version(packageVersion(), "-V, --version", "print compose-roll's version")
    .addHelpText("after", exitCodesHelp())
    // Usage errors are refusals too (exit 2, in main()), in compose-roll's one-line form;
    // subcommands inherit both settings.
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`compose-roll: ${oneLine(s.replace(/^error: /, ""))}\n`),
    })
    .showHelpAfterError("  what to do: see `compose-roll --help`, or `compose-roll <command> --help`");

  withOptions(prog.command("sync <service>"), "sync")
    .description(
      "write the Traefik file for the service's running containers and wait until Traefik serves it",
    )
    .action(async (service: string, raw: RawOptions, cmd: Command) =>
      (await commands()).syncCommand(service, await given(raw, cmd)),
    );

  withOptions(prog.command("up [services...]"), "up")
    .description(
      "roll every service `docker compose up -d` would change, as one release: routed ones through Traefik, then workers with their grace",
    )
    .action(async (services: string[], raw: RawOptions, cmd: Command) =>
      (await import("./release.js")).upCommand(services, await given(raw, cmd)),
    );

  withOptions(prog.command("undo [service]"), "undo")
    .description("roll back to the last complete revision before the current one, as a new revision")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await commands()).undoCommand(service, await given(raw, cmd)),
    );

  withOptions(prog.command("repair [service]"), "repair")
    .description("after a killed rollout: converge back to the image it replaced, at full capacity")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await commands()).repairCommand(service, await given(raw, cmd)),
    );

  withOptions(prog.command("history [service]"), "history")
    .description("list the service's revisions, kept on the Docker host")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await inspect()).historyCommand(service, await given(raw, cmd)),
    );

  withOptions(prog.command("status [service]"), "status")
    .description("each container's image, health, Traefik membership and revision; flags drift")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await inspect()).statusCommand(service, await given(raw, cmd)),
    );

  const lock = prog.command("lock").description("the service's rollout lock on the Docker host");
  withOptions(lock.command("status [service]"), "lock status")
    .description("who holds the lock, since when, rolling to what")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await inspect()).lockStatusCommand(service, await given(raw, cmd)),
    );
  withOptions(lock.command("release [service]"), "lock release")
    .description("remove the lock (for a holder that died on another host)")
    .action(async (service: string | undefined, raw: RawOptions, cmd: Command) =>
      (await inspect()).lockReleaseCommand(service, await given(raw, cmd)),
    );

  withOptions(prog.command("install-plugin"), "install-plugin")
    .description(
      "make `docker roll ...` run compose-roll: writes docker-roll into $DOCKER_CONFIG/cli-plugins",
    )
    .action(async (raw: { dir?: string }) => (await import("./plugin.js")).installPluginCommand(raw));

  withOptions(prog.command("roll <service>", { isDefault: true }), "roll")
    .description(
      "roll the service to a new image, one replica at a time (`compose-roll <service> --image <ref>`)",
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
