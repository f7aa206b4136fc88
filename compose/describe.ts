// What differs between a service's running container and what compose would create now, in
// words for the release plan ("environment: DEBUG changed"). Compose only says *that* it would
// recreate (its config hash differs); a user reviewing `up --dry-run` wants to know *why*.
// Environment values never appear, only names: they are often secrets. What this cannot name
// (volumes, networks, healthcheck, …) is still reported, as "other configuration".

/** A running container's configuration as the engine reports it (ContainerInspect.Config). */
export interface RunningConfig {
  /** The image reference the container was created from. */
  image: string;
  /** The image ID it runs. */
  imageId?: string;
  /** `KEY=value` lines: the image's own environment, then the service's on top. */
  env: string[];
  cmd: string[] | null;
  labels: Record<string, string>;
}

/** What the image itself sets: what the container holds without the service adding it. */
export interface ImageDefaults {
  env: string[];
  cmd: string[] | null;
  labels: Record<string, string>;
}

/** What the compose files ask for (compose/project.ts ServiceConfig's fields this reads). */
export interface WantedConfig {
  image?: string;
  /** The ID `image` names on the engine now (differs from the container's after a rebuild or pull). */
  imageId?: string;
  /** `environment:` after compose merged env_file and interpolation; null: unset, passed through. */
  environment?: Record<string, string | null>;
  command?: string[];
  labels?: Record<string, string>;
}

/** Where the running side comes from (engine/configs.ts, over the Engine API). */
export interface ServiceConfigs {
  /** The newest running container of `service`; undefined when none runs. */
  running(service: string): Promise<{ config: RunningConfig; image?: ImageDefaults } | undefined>;
  /** The image ID `ref` names on the engine now; undefined when it is not there. */
  imageId(ref: string): Promise<string | undefined>;
}

const envMap = (lines: string[]) =>
  new Map(
    lines.map((l) => {
      const i = l.indexOf("=");
      return i < 0 ? [l, ""] : [l.slice(0, i), l.slice(i + 1)];
    }),
  );

/** Keys whose value differs, keys added, keys gone: "A, B changed; C added; D removed". */
function keyDiff(
  want: Map<string, string>,
  have: Map<string, string>,
  inherited: Map<string, string>,
): string | undefined {
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [k, v] of want) {
    const now = have.get(k);
    if (now === undefined) added.push(k);
    else if (now !== v) changed.push(k);
  }
  // A key the container holds but the files no longer set, unless the image itself sets it so.
  for (const [k, v] of have) if (!want.has(k) && inherited.get(k) !== v) removed.push(k);
  const parts = [
    changed.length ? `${changed.sort().join(", ")} changed` : "",
    added.length ? `${added.sort().join(", ")} added` : "",
    removed.length ? `${removed.sort().join(", ")} removed` : "",
  ].filter(Boolean);
  return parts.length ? parts.join("; ") : undefined;
}

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

const sameList = (a: string[] | null, b: string[] | null) =>
  JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/**
 * The differences between `running` and `want`, each one phrase; ["other configuration
 * (…)"] when compose recreates for something else. `image`: the running image's own settings.
 */
export function describeDrift(want: WantedConfig, running: RunningConfig, image?: ImageDefaults): string[] {
  const out: string[] = [];
  if (want.image && want.image !== running.image) out.push(`image ${running.image} → ${want.image}`);
  else if (want.imageId && running.imageId && want.imageId !== running.imageId)
    out.push(
      `image ${running.image} (rebuilt or pulled since: ${short(running.imageId)} → ${short(want.imageId)})`,
    );
  const inheritedEnv = envMap(image?.env ?? []);
  const wantEnv = new Map(inheritedEnv);
  for (const [k, v] of Object.entries(want.environment ?? {})) if (v !== null) wantEnv.set(k, v);
  const env = keyDiff(wantEnv, envMap(running.env), inheritedEnv);
  if (env) out.push(`environment: ${env}`);
  const cmd = want.command ?? image?.cmd ?? null;
  if ((want.command || image) && !sameList(cmd, running.cmd)) out.push("command");
  const ownLabels = (l: Record<string, string>) =>
    new Map(Object.entries(l).filter(([k]) => !k.startsWith("com.docker.compose.")));
  const inheritedLabels = ownLabels(image?.labels ?? {});
  const wantLabels = new Map([...inheritedLabels, ...ownLabels(want.labels ?? {})]);
  const labels = keyDiff(wantLabels, ownLabels(running.labels), inheritedLabels);
  if (labels) out.push(`labels: ${labels}`);
  return out.length ? out : ["other configuration (volumes, networks, healthcheck or another setting)"];
}
