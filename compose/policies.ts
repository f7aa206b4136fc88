// Each service's facts for a release, from compose's model (`docker compose config`): the
// compose spec's own fields (deploy.update_config and rollback_config, stop_grace_period,
// stop_signal, healthcheck, volumes, labels, depends_on) and the service's x-compose-roll
// (policy, grace-needed, traefik-file). Validated with zod: a value compose accepts but a
// release cannot honour is refused here, naming the field and the fix.
import { parse } from "yaml";
import { z } from "zod";
import { RefusedError } from "../controller/errors.js";
import { POLICIES, type ServiceFacts, type UpdateConfig } from "../controller/release-policy.js";
import { compose } from "./cli.js";
import { fixedHostPorts, type Project } from "./project.js";

/** Where databases and brokers keep their data: a named volume here makes a service stateful. */
const DATA_PATHS =
  /^\/(var\/lib\/(postgresql|mysql|mariadb|redis|mongodb|rabbitmq|clickhouse|influxdb|elasticsearch)|data|bitnami|usr\/share\/elasticsearch\/data)(\/|$)/;

/** Go's durations as compose prints them: 1m30s, 10s, 500ms. */
export function goDuration(text: string): number {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 1e-6 };
  let ms = 0;
  let rest = text.trim();
  if (/^\d+(\.\d+)?$/.test(rest)) return Number(rest) * 1000;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/.exec(rest);
    if (!m) throw new Error(`not a duration: ${text}`);
    ms += Number(m[1]) * (unit[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return Math.round(ms);
}

const duration = z.union([z.string(), z.number()]).transform((v, c) => {
  try {
    return goDuration(String(v));
  } catch {
    c.addIssue({ code: "custom", message: `not a duration: ${v} (say 10s, 1m30s)` });
    return z.NEVER;
  }
});

const updateConfig = z
  .object({
    parallelism: z.number().int().min(0).optional(),
    delay: duration.optional(),
    failure_action: z.enum(["rollback", "pause", "continue"]).optional(),
    monitor: duration.optional(),
    max_failure_ratio: z.number().min(0).max(1).optional(),
    order: z.enum(["start-first", "stop-first"]).optional(),
  })
  .strict();

const service = z.object({
  labels: z.union([z.record(z.string(), z.string()), z.array(z.string())]).optional(),
  deploy: z
    .object({ update_config: updateConfig.optional(), rollback_config: updateConfig.optional() })
    .passthrough()
    .optional(),
  healthcheck: z
    .object({
      disable: z.boolean().optional(),
      test: z.array(z.string()).optional(),
      start_period: duration.optional(),
    })
    .passthrough()
    .optional(),
  stop_grace_period: duration.optional(),
  stop_signal: z.string().optional(),
  volumes: z
    .array(z.object({ type: z.string(), source: z.string().optional(), target: z.string() }).passthrough())
    .optional(),
  depends_on: z.union([z.record(z.string(), z.unknown()), z.array(z.string())]).optional(),
  "x-compose-roll": z
    .object({
      // `skip` is the issue's and dokku's word for it.
      policy: z.enum(["skip", ...POLICIES] as [string, ...string[]]).optional(),
      "grace-needed": duration.optional(),
    })
    .passthrough()
    .optional(),
});

/** The facts of every service, from the model compose prints for the project now. */
export async function serviceFacts(
  project: Project,
  env: Record<string, string | undefined>,
): Promise<ServiceFacts[]> {
  const text = await compose(project.args, ["config", "--format", "yaml"], { cwd: project.dir, env });
  const services = (parse(text) as { services?: Record<string, unknown> }).services ?? {};
  return Object.entries(services).map(([name, raw]) => factsOf(name, raw, project));
}

export function factsOf(
  name: string,
  raw: unknown,
  project: Pick<Project, "files" | "services">,
): ServiceFacts {
  const got = service.safeParse(raw);
  if (!got.success) {
    const issue = got.error.issues[0];
    const field = issue?.path.join(".") ?? "";
    let given: unknown = raw;
    for (const k of issue?.path ?? [])
      given = (given as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey];
    throw new RefusedError(
      `${project.files.join(", ")}: service ${name}: ${field}: ${issue?.message}, got ${JSON.stringify(given)}`,
      `fix ${field} (compose spec: deploy.update_config takes parallelism, delay, failure_action rollback|pause|continue, monitor, max_failure_ratio, order start-first|stop-first; x-compose-roll policy: ${POLICIES.join("|")}|skip)`,
    );
  }
  const s = got.data;
  const cfg = project.services[name];
  const labels = Array.isArray(s.labels)
    ? Object.fromEntries(s.labels.map((l) => [l.split("=")[0], l.split("=").slice(1).join("=")]))
    : (s.labels ?? {});
  const x = (s["x-compose-roll"] ?? {}) as Record<string, unknown>;
  const routed =
    labels["traefik.enable"] === "true" ||
    Object.keys(labels).some((k) => k.startsWith("traefik.http.")) ||
    x["traefik-file"] !== undefined ||
    x["traefik-service"] !== undefined;
  const data = (s.volumes ?? []).find((v) => v.type === "volume" && v.source && DATA_PATHS.test(v.target));
  const hc = s.healthcheck;
  const exclusive = cfg?.containerName
    ? `container_name: ${cfg.containerName}`
    : fixedHostPorts((raw as { ports?: unknown }).ports).length
      ? `fixed host port(s) ${fixedHostPorts((raw as { ports?: unknown }).ports).join(", ")}`
      : undefined;
  return {
    service: name,
    routed,
    ...(x.policy
      ? { declared: (x.policy === "skip" ? "stateful" : x.policy) as ServiceFacts["declared"] }
      : {}),
    update: updateOf(s.deploy?.update_config),
    rollback: updateOf(s.deploy?.rollback_config),
    ...(data ? { dataVolume: `${data.source}:${data.target}` } : {}),
    ...(exclusive ? { exclusive } : {}),
    healthcheck: Boolean(hc && !hc.disable && hc.test && hc.test[0] !== "NONE"),
    ...(hc?.start_period !== undefined ? { startPeriodMs: hc.start_period } : {}),
    stopGraceMs: s.stop_grace_period ?? 10_000,
    stopSignal: s.stop_signal ?? "SIGTERM",
    ...(typeof x["grace-needed"] === "number" ? { graceNeededMs: x["grace-needed"] } : {}),
    dependsOn: Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {}),
    replicas: cfg?.replicas ?? 1,
  };
}

function updateOf(u: z.infer<typeof updateConfig> | undefined): Partial<UpdateConfig> {
  if (!u) return {};
  return {
    ...(u.parallelism !== undefined ? { parallelism: u.parallelism } : {}),
    ...(u.delay !== undefined ? { delayMs: u.delay } : {}),
    ...(u.failure_action ? { failureAction: u.failure_action } : {}),
    ...(u.monitor !== undefined ? { monitorMs: u.monitor } : {}),
    ...(u.max_failure_ratio !== undefined ? { maxFailureRatio: u.max_failure_ratio } : {}),
    ...(u.order ? { order: u.order } : {}),
  };
}
