// Which services a release changes: compose's own decision, read from `docker compose up -d
// --dry-run`. Compose recreates a container when its config-hash label differs from the
// hash it computes now, or its image label from the image's ID; `docker compose config
// --hash` differs from the hash `up` writes for services with env_file on compose 2.31
// (measured: 96eeab… on the container, eeb997… from `config --hash` for the same files),
// so comparing hashes ourselves would call such services changed forever. The dry run asks
// the same code that `up` runs, and afterwards the test of done is the same call planning nothing.
import type { ComposeAction, ServiceChange } from "../controller/release.js";
import { compose, type RunOptions } from "./cli.js";
import { describeDrift, type ServiceConfigs } from "./describe.js";
import type { Project } from "./project.js";

const LINE = /^\s*DRY-RUN MODE -\s+Container\s+(\S+)\s+(\S+)\s*$/;

/** One container line of the dry run: its name and compose's verb (Running, Recreate, Creating…). */
export function parseDryRun(text: string): { name: string; verb: string }[] {
  return text.split("\n").flatMap((l) => {
    const m = LINE.exec(l);
    return m ? [{ name: m[1] as string, verb: m[2] as string }] : [];
  });
}

/**
 * The service a container name belongs to: `<project>-<service>-<N>`, the longest service that
 * fits (service names may hold `-`). Compose's temporary `<id12>_<name>` during a recreate is skipped.
 */
export function serviceOfName(project: string, services: string[], name: string): string | undefined {
  if (/^[0-9a-f]{12}_/.test(name)) return undefined;
  const fits = services.filter((s) => {
    const prefix = `${project}-${s}-`;
    return name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length));
  });
  return fits.sort((a, b) => b.length - a.length)[0];
}

/** Per service, what `up -d` would do: recreate beats create beats start beats running. */
export function actionsOf(
  project: string,
  services: string[],
  lines: { name: string; verb: string }[],
): Record<string, ComposeAction> {
  const rank: ComposeAction[] = ["unchanged", "trim", "start", "create", "recreate"];
  const out: Record<string, ComposeAction> = Object.fromEntries(services.map((s) => [s, "unchanged"]));
  for (const { name, verb } of lines) {
    const s = serviceOfName(project, services, name);
    if (!s) continue;
    const a: ComposeAction | undefined = /^Recreate/.test(verb)
      ? "recreate"
      : /^Creat/.test(verb)
        ? "create"
        : /^Start/.test(verb)
          ? "start"
          : /^(Stopp|Remov)/.test(verb)
            ? "trim"
            : undefined;
    if (a && rank.indexOf(a) > rank.indexOf(out[s] ?? "unchanged")) out[s] = a;
  }
  return out;
}

interface PsRow {
  Service?: string;
  Image?: string;
  State?: string;
}

/**
 * What compose would do to each service of the project now, and what differs, in words: from
 * the running containers' configuration when `configs` reads it, else only an image change.
 */
export async function composeChanges(
  project: Project,
  env: Record<string, string | undefined>,
  configs?: ServiceConfigs,
): Promise<ServiceChange[]> {
  const run: RunOptions = { cwd: project.dir, env };
  const services = Object.keys(project.services);
  const [dry, ps] = await Promise.all([
    compose(project.args, ["up", "-d", "--dry-run", "--no-build", "--pull", "never"], {
      ...run,
      stderr: true,
    }),
    compose(project.args, ["ps", "-a", "--format", "json"], run),
  ]);
  const lines = parseDryRun(dry);
  const actions = actionsOf(project.name, services, lines);
  const rows = psRows(ps);
  const changes = services.map((service) => {
    const action = actions[service] ?? "unchanged";
    const running = [...new Set(rows.filter((r) => r.Service === service).map((r) => r.Image))];
    const want = project.services[service]?.image;
    const what =
      action !== "recreate"
        ? action === "unchanged"
          ? []
          : ["not running"]
        : running.length === 1 && want && running[0] !== want
          ? [`image ${running[0]} → ${want}`]
          : ["configuration"];
    const extras = [
      ...new Set(
        lines
          .filter((l) => /^Remov/.test(l.verb) && serviceOfName(project.name, services, l.name) === service)
          .map((l) => l.name),
      ),
    ];
    return {
      service,
      action,
      what: action === "trim" ? ["containers beyond its replicas"] : what,
      ...(extras.length ? { extras } : {}),
    };
  });
  if (!configs) return changes;
  return Promise.all(
    changes.map(async (c) => {
      const want = project.services[c.service];
      if (c.action !== "recreate" || !want) return c;
      const running = await configs.running(c.service);
      if (!running) return c;
      const imageId = want.image ? await configs.imageId(want.image) : undefined;
      return {
        ...c,
        what: describeDrift({ ...want, ...(imageId ? { imageId } : {}) }, running.config, running.image),
      };
    }),
  );
}

/** `ps --format json`: one object per line (compose 2.21+), or one array (older). */
function psRows(text: string): PsRow[] {
  const t = text.trim();
  if (!t) return [];
  if (t.startsWith("[")) return JSON.parse(t) as PsRow[];
  return t.split("\n").map((l) => JSON.parse(l) as PsRow);
}
