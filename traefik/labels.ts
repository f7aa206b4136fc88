// Label mode, the pure half: what a service's Docker labels and healthcheck say about how
// Traefik's Docker provider routes it, and how compose-roll can drain one of its containers.
// No I/O here, so every rule Traefik applies is unit-tested against plain data.
import { RefusedError } from "../controller/errors.js";

/** Is the service routed by Traefik's Docker provider (as opposed to a file compose-roll owns)? */
export function routedByLabels(labels: Record<string, string>): boolean {
  const enable = labels["traefik.enable"]?.trim().toLowerCase();
  // traefik.enable=false wins over any other traefik.* label: Traefik ignores the container.
  if (enable === "false") return false;
  return enable === "true" || Object.keys(labels).some((k) => k.startsWith("traefik.http."));
}

/** Traefik's provider.Normalize: every run of non-alphanumerics becomes one "-". */
export function normalize(name: string): string {
  return name.replace(/[^a-zA-Z0-9]+/g, "-");
}

/** Service names declared by `traefik.http.services.<name>.*` labels, sorted. */
export function declaredServices(labels: Record<string, string>): string[] {
  const names = new Set<string>();
  for (const key of Object.keys(labels)) {
    const m = /^traefik\.http\.services\.([^.]+)\./.exec(key);
    if (m?.[1]) names.add(m[1]);
  }
  return [...names].sort();
}

/**
 * The name Traefik's API shows for the service: the one a `traefik.http.services.<name>`
 * label declares, else `<service>-<project>` (getServiceName: compose service "_" project,
 * normalized), always `@docker`. Several declared names: the user must pick one.
 */
export function dockerServiceName(
  labels: Record<string, string>,
  svc: { project: string; service: string },
  explicit?: string,
): string {
  if (explicit) return explicit.includes("@") ? explicit : `${explicit}@docker`;
  const declared = declaredServices(labels);
  if (declared.length > 1) {
    throw new RefusedError(
      `${svc.service}'s labels declare several Traefik services (${declared.join(", ")})`,
      "name the one to roll with --traefik-service <name>",
    );
  }
  return `${declared[0] ?? normalize(`${svc.service}_${svc.project}`)}@docker`;
}

/** Where Traefik reaches the containers: the port and network its labels name, if any. */
export function labelAddress(
  labels: Record<string, string>,
  service: string,
): { port?: number; network?: string } {
  const plain = service.replace(/@docker$/, "");
  const out: { port?: number; network?: string } = {};
  const port = Number(labels[`traefik.http.services.${plain}.loadbalancer.server.port`]);
  if (Number.isInteger(port) && port > 0 && port < 65536) out.port = port;
  const network = labels["traefik.docker.network"];
  if (network) out.network = network;
  return out;
}

/** How an old container leaves Traefik's service before it is stopped. */
export type DrainMethod =
  /** The healthcheck fails while this file exists: compose-roll creates it. */
  | { kind: "file"; path: string }
  /** The user's own command, exec'd in the container (argv, no shell of ours). */
  | { kind: "command"; argv: string[] }
  /** Nothing takes it out first: it is stopped while Traefik may still send to it. */
  | { kind: "unsafe" };

export interface DrainChoice {
  drainFile: string;
  drainCommand?: string[];
  allowUnsafe: boolean;
  /** The old container's `docker-rollout.pre-stop-hook` label (docker-rollout's drain). */
  preStopHook?: string;
}

/** docker-rollout's container label: a shell command it runs in each old container before stopping it. */
export const PRE_STOP_HOOK = "docker-rollout.pre-stop-hook";

/** The healthcheck names `path` as a whole word: /tmp/draining is not /tmp/drain. */
function mentions(test: string, path: string): boolean {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[\\s"'=])${escaped}($|[\\s"';&|)])`).test(test);
}

/**
 * A docker-rollout project drains with its pre-stop hook (`touch /tmp/drain && sleep 10`):
 * when the hook touches a file the healthcheck tests, that file is the drain file (no fixed
 * sleep needed: compose-roll waits until Traefik drops the container); any other hook runs as
 * the drain command, through `sh -c` as docker-rollout runs it.
 */
function fromPreStopHook(hook: string, test: string): DrainMethod {
  const touched = /(?:^|&&|;|\|\|)\s*touch\s+("?)([^\s"&;|]+)\1/.exec(hook)?.[2];
  if (touched && mentions(test, touched)) return { kind: "file", path: touched };
  return { kind: "command", argv: ["sh", "-c", hook] };
}

/**
 * In order of preference: the drain-file convention when the healthcheck checks the file,
 * else the user's drain command, else (only when allowed) none. The healthcheck is the
 * only lever: Traefik's Docker provider drops a running container only when it turns
 * unhealthy (labels cannot change on a running container).
 */
export function chooseDrain(
  healthTest: string[] | null | undefined,
  choice: DrainChoice,
  name: string,
): DrainMethod {
  const test = (healthTest ?? []).join(" ");
  const hasCheck = healthTest !== null && healthTest !== undefined && healthTest[0] !== "NONE" && test !== "";
  if (hasCheck && mentions(test, choice.drainFile)) return { kind: "file", path: choice.drainFile };
  if (hasCheck && !choice.drainCommand?.length && choice.preStopHook?.trim())
    return fromPreStopHook(choice.preStopHook.trim(), test);
  if (choice.drainCommand && choice.drainCommand.length > 0) {
    if (!hasCheck) {
      throw new RefusedError(
        `${name} has no healthcheck, so no drain command can take it out of Traefik (Traefik only drops unhealthy containers)`,
        `add a healthcheck that fails while ${choice.drainFile} exists: test: ["CMD-SHELL", "test ! -f ${choice.drainFile} && <your check>"]`,
      );
    }
    return { kind: "command", argv: choice.drainCommand };
  }
  if (choice.allowUnsafe) return { kind: "unsafe" };
  throw new RefusedError(
    `requests in flight to old containers may fail: ${name}'s healthcheck does not fail while ${choice.drainFile} exists, so nothing takes a container out of Traefik before it stops`,
    `add to the service: healthcheck: test: ["CMD-SHELL", "test ! -f ${choice.drainFile} && <your check>"] (or pass --drain-command <argv>, or accept the risk with --allow-unsafe-drain)`,
  );
}

export function describeDrain(m: DrainMethod): string {
  switch (m.kind) {
    case "file":
      return `drain file ${m.path} (the healthcheck fails while it exists)`;
    case "command":
      return `drain command ${JSON.stringify(m.argv)}`;
    case "unsafe":
      return "none (--allow-unsafe-drain: requests in flight to old containers may fail)";
  }
}
