// The stand-in rollout of a Swarm service, as pure rules over what the adapters observe. Swarm
// gives no hook between "new task running" and "old task stopped", so compose-roll moves whole
// services in and out of Traefik by their labels and stops nothing Traefik still lists:
//   stand-ins  one-task services of the new image, each proven through a probe-only router, then
//              given the users' labels (they merge into the users' load balancer);
//   hand-over  the real service out of Traefik (traefik.enable=false); Traefik lists only stand-ins;
//   replace    the real service updated offline (new image, probe-only labels), its tasks proven;
//   put-back   its own labels back: Traefik lists stand-ins and the real service's tasks;
//   retire     stand-ins out of Traefik, then removed;
//   settle     one identical update, so Swarm's one-level rollback (PreviousSpec) changes nothing.

export type SwarmPhase = "stand-ins" | "hand-over" | "replace" | "put-back" | "retire" | "settle";

export interface SwarmTaskView {
  id: string;
  /** Swarm's task state: new … starting, running, failed, rejected, shutdown … */
  state: string;
  desired: string;
  /** The task's addresses on its networks (no prefix length). */
  addresses: string[];
  /** Swarm's error for a task that ended (e.g. "task: non-zero exit (1)"). */
  error?: string;
}

export type Verdict = { kind: "ok" } | { kind: "wait"; why: string } | { kind: "fail"; why: string };

const PROBE_HEADER = "X-Compose-Roll-Probe";
/** Above any rule-length priority a users' router gets by default. */
const PROBE_PRIORITY = "1000000";
/**
 * A task that reached one of these ended. Swarm shuts an unhealthy task down itself (measured: it
 * shows as "complete", desired shutdown, no error) and starts another: a task of the new image that
 * ended while compose-roll stopped nothing is an image that failed.
 */
const ENDED = new Set(["failed", "rejected", "orphaned", "complete", "shutdown", "remove"]);

/** Stand-in `k` (1-based) of service `name`: its stack prefix keeps it in the stack. */
export const standInName = (name: string, k: number) => `${name}-standin-${k}`;

/** The probe router of the service itself while it is replaced offline. */
export const serviceProbeRouter = (name: string) => `${name.replaceAll("_", "-")}-probe`;

/**
 * Whether the service is in Traefik with its own labels: what a killed run's stand-ins can
 * leave to. Out of Traefik (hand-over) or on its probe router (replace), they are all that serves.
 */
export function servesItself(name: string, labels: Record<string, string>): boolean {
  return (
    labels["traefik.enable"] !== "false" &&
    !(`traefik.http.routers.${serviceProbeRouter(name)}.rule` in labels)
  );
}

export const isTraefik = (key: string) => key.startsWith("traefik.");

export function withoutTraefik(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !isTraefik(k)));
}

/** The same labels, out of every router (Traefik drops a service with traefik.enable=false). */
export const disabled = (labels: Record<string, string>) => ({ ...labels, "traefik.enable": "false" });

/** What `docker stack deploy` writes on a service: the image as the compose file names it. */
const STACK_IMAGE = "com.docker.stack.image";

/**
 * The service's labels once it runs `ref`: its own, with the image a stack deploy would record
 * (the ref as written, no digest), so deploying a file naming `ref` changes nothing.
 */
export function finalLabels(labels: Record<string, string>, ref: string): Record<string, string> {
  return STACK_IMAGE in labels ? { ...labels, [STACK_IMAGE]: ref } : labels;
}

export interface Balancer {
  /** The users' load balancer, `<name>@swarm` in Traefik's API. */
  name: string;
  port: string;
  entryPoints?: string;
  network?: string;
}

/** The one load balancer the service's labels define, or why there is none to roll. */
export function usersBalancer(labels: Record<string, string>): Balancer | { refused: string } {
  const names = new Set<string>();
  for (const k of Object.keys(labels)) {
    const m = /^traefik\.http\.services\.([^.]+)\./.exec(k);
    if (m?.[1]) names.add(m[1]);
  }
  const [name, ...more] = [...names];
  if (!name || more.length > 0) {
    return {
      refused: name
        ? `its labels define ${names.size} Traefik services (${[...names].join(", ")}); compose-roll rolls a service with one`
        : "its labels define no traefik.http.services.<name>.loadbalancer.server.port (mandatory on Swarm)",
    };
  }
  const port = labels[`traefik.http.services.${name}.loadbalancer.server.port`];
  if (!port) return { refused: `traefik.http.services.${name}.loadbalancer.server.port is not set` };
  const entry = Object.entries(labels).find(([k]) => /^traefik\.http\.routers\.[^.]+\.entrypoints$/.test(k));
  const network = labels["traefik.swarm.network"] ?? labels["traefik.docker.network"];
  return {
    name,
    port,
    ...(entry ? { entryPoints: entry[1] } : {}),
    ...(network ? { network } : {}),
  };
}

/**
 * Labels that route only requests carrying the probe header set to `token` to the service, on
 * the users' entrypoints and port, marking each answer so a probe knows which router answered.
 */
export function probeLabels(
  labels: Record<string, string>,
  lb: Balancer,
  router: string,
  token: string,
): Record<string, string> {
  const r = `traefik.http.routers.${router}`;
  return {
    ...withoutTraefik(labels),
    "traefik.enable": "true",
    [`${r}.rule`]: `Header(\`${PROBE_HEADER}\`, \`${token}\`)`,
    [`${r}.priority`]: PROBE_PRIORITY,
    [`${r}.service`]: router,
    [`${r}.middlewares`]: router,
    ...(lb.entryPoints ? { [`${r}.entrypoints`]: lb.entryPoints } : {}),
    [`traefik.http.middlewares.${router}.headers.customresponseheaders.${PROBE_HEADER}`]: token,
    [`traefik.http.services.${router}.loadbalancer.server.port`]: lb.port,
    ...(lb.network ? { "traefik.swarm.network": lb.network } : {}),
  };
}

/**
 * Whether `want` tasks run (RUNNING means healthy on Swarm), or the image has failed: `maxFailed`
 * tasks ended (Swarm replaces an unhealthy task, so a never-healthy image shows as failures).
 */
export function tasksVerdict(tasks: SwarmTaskView[], want: number, maxFailed: number): Verdict {
  const running = tasks.filter((t) => t.state === "running" && t.desired === "running");
  const failed = tasks.filter((t) => ENDED.has(t.state));
  if (failed.length >= maxFailed) {
    const why = failed.find((t) => t.error)?.error ?? `${failed[0]?.state}: unhealthy, or exited`;
    return { kind: "fail", why: `${failed.length} task(s) of the new image ended (${why})` };
  }
  if (running.length === want) return { kind: "ok" };
  return { kind: "wait", why: `${running.length} of ${want} task(s) running` };
}

const hostOf = (url: string) => {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
};

/**
 * Whether Traefik's load balancer lists exactly the servers of `tasks`: one per task, at one of
 * its addresses, and nothing else (a server of a task that should be gone still gets requests).
 */
export function routingVerdict(tasks: SwarmTaskView[], listed: string[] | undefined): Verdict {
  const servers = (listed ?? []).map(hostOf);
  const owner = (host: string) => tasks.find((t) => t.addresses.includes(host))?.id;
  const stray = servers.filter((h) => owner(h) === undefined);
  const covered = new Set(servers.map(owner).filter(Boolean));
  if (stray.length === 0 && covered.size === tasks.length && servers.length === tasks.length)
    return { kind: "ok" };
  return {
    kind: "wait",
    why: `Traefik lists ${servers.length} server(s), ${stray.length} not expected; ${tasks.length - covered.size} of ${tasks.length} expected missing`,
  };
}

/**
 * What a failure in `phase` leaves to undo. Until the real service's image is replaced, putting
 * its own spec back and removing the stand-ins restores it exactly; once its new tasks are proven
 * and its labels back, finishing is safer than undoing (both images are proven; a rerun converges).
 */
export function recovery(phase: SwarmPhase): "remove-stand-ins" | "restore-service" | "finish" {
  if (phase === "stand-ins") return "remove-stand-ins";
  if (phase === "hand-over" || phase === "replace") return "restore-service";
  return "finish";
}

/** The plan's lines a rollout and a repair share. */
export const planLine = {
  putBack: (name: string, lb: string, beside?: string) =>
    `put ${name}'s own labels and update config back; wait until ${lb} lists ${beside ? `${beside} and ` : ""}${name}`,
  retire: (name: string, lb: string, drain: string) =>
    `take the stand-ins out of Traefik; wait until ${lb} lists ${name} alone; drain ${drain}; remove them`,
  settle: (name: string) => `update ${name} unchanged, so \`docker service rollback\` changes nothing`,
};

/**
 * The phases a rollout of `name` (N `replicas`) to `image` would take, one line each, in the
 * order it takes them: what a dry run shows. `left`: stand-ins a killed run left beside the
 * service, retired first.
 */
export function swarmPlanSteps(o: {
  name: string;
  replicas: number;
  image: string;
  balancer: string;
  drain: string;
  left: string[];
}): string[] {
  const { name, replicas: n, balancer: lb } = o;
  const first = standInName(name, 1);
  const standIns = n > 1 ? `${first} … ${standInName(name, n)}` : first;
  return [
    ...(o.left.length > 0
      ? [
          `retire the stand-ins a killed run left (${o.left.join(", ")}): out of Traefik, drain ${o.drain}, remove`,
        ]
      : []),
    `start ${n} one-task stand-in service(s) of ${o.image} (${standIns}), each proven through its own probe router, then given ${name}'s labels: they join ${lb}`,
    `take ${name} out of Traefik (traefik.enable=false); wait until ${lb} lists only the stand-ins; drain ${o.drain}`,
    `update ${name} to ${o.image} while out of Traefik (every task at once, probe-only labels); prove its ${n} task(s) through a probe router`,
    planLine.putBack(name, lb, "the stand-ins"),
    planLine.retire(name, lb, o.drain),
    planLine.settle(name),
  ];
}
