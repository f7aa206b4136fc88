// Issue 12's overhead, replica by replica: what a rollout's --json events, Traefik's API
// (polled from outside) and Docker's event stream say about each step. Pure, so every figure
// has a worked example (breakdown.test.ts); bench/overhead.ts collects the inputs.
import type { RollEvent } from "./stats.js";

/** One poll of Traefik's API: the service's servers at epoch ms `t`. */
export interface Listing {
  t: number;
  urls: string[];
}

/** One Docker event of the project's containers (`docker events --format '{{json .}}'`). */
export interface DockerEvent {
  t: number;
  name: string;
  /** start, kill, die, destroy, "health_status: unhealthy", ... */
  status: string;
}

export interface ReplicaRow {
  name: string;
  /** create → healthy: the app's own boot (and the healthcheck's interval). */
  boot_s: number;
  /** healthy → routed: the proof (probe / API listing) and the one write. */
  route_s: number;
  /** The old container the routed one replaced. */
  old?: string;
  /** routed → Docker calls the old one unhealthy (label mode's drain file). */
  unhealthy_s?: number;
  /** routed → the old one's URL is gone from Traefik's API. */
  out_s?: number;
  /** out of Traefik → its stop begins (`kill`): the drain wait, plus any wait for health. */
  to_stop_s?: number;
  /** kill → die: the app's graceful stop. */
  stop_s?: number;
  /** die → destroy. */
  remove_s?: number;
  /** routed → the next container's create begins (0 when it was already booting). */
  next_s?: number;
}

export interface Breakdown {
  wall_s: number;
  boot_s: number;
  overhead_s: number;
  per_replica_s: number;
  /** start → the first create. */
  setup_s: number;
  /** The last routed → done: the last old container's way out (drain and stop included). */
  tail_s: number;
  /** The last old container removed → done. */
  after_s: number;
  rows: ReplicaRow[];
}

const at = (e: RollEvent | undefined) => (e ? Date.parse(e.time) : Number.NaN);
const s = (ms: number) => (Number.isFinite(ms) ? Math.round(ms / 100) / 10 : undefined);
const urlOf = (detail: string | undefined) => /^(\S+?);/.exec(detail ?? "")?.[1];

/**
 * `oldUrls`: each old container's name → the URL Traefik lists it by (the new ones' come from
 * their `routed` events). Every `draining` event belongs to the `routed` one before it.
 *   web-4 created 0–0.2 s (adding at 0.2, "created in 200 ms"), healthy 3, routed 3.5,
 *   web-1 draining 3.5, unhealthy 6, out of the API 6.5, kill 9.5, die 10.5, destroy 10.6,
 *   done 10.7; drain 3 s → boot 3, route 0.5, unhealthy 2.5, out 3, to_stop 3, stop 1,
 *   remove 0.1; wall 10.7, overhead 10.7 − 3 − 3 = 4.7, tail 7.2, after 0.1.
 */
export function breakdown(
  events: RollEvent[],
  oldUrls: Record<string, string>,
  listings: Listing[],
  docker: DockerEvent[],
  drainMs: number,
  replicas: number,
): Breakdown {
  const reps = events.filter((e) => e.type === "replica");
  const find = (name: string | undefined, status: string) =>
    docker.find((d) => d.name === name && d.status === status)?.t ?? Number.NaN;
  const rows: ReplicaRow[] = [];
  const adds = reps.filter((e) => e.state === "adding");
  for (const add of adds) {
    const created = Number(/created in (\d+) ms/.exec(add.detail ?? "")?.[1] ?? 0);
    const t0 = at(add) - created;
    const healthy = at(reps.find((e) => e.state === "healthy" && e.name === add.name));
    const routedEv = reps.find((e) => e.state === "routed" && e.name === add.name);
    const routed = at(routedEv);
    const row: ReplicaRow = {
      name: add.name ?? "?",
      boot_s: s(healthy - t0) ?? 0,
      route_s: s(routed - healthy) ?? 0,
    };
    const i = routedEv ? reps.indexOf(routedEv) : -1;
    const drain =
      i >= 0 ? reps.slice(i + 1).find((e) => e.state === "draining" || e.state === "routed") : undefined;
    if (drain?.state === "draining" && drain.name) {
      row.old = drain.name;
      const url = oldUrls[drain.name];
      const out =
        listings.find((l) => l.t >= routed && url !== undefined && !l.urls.includes(url))?.t ?? Number.NaN;
      const unhealthy = find(drain.name, "health_status: unhealthy");
      const kill = find(drain.name, "kill");
      const die = find(drain.name, "die");
      // Only the drain file's verdict (label mode); file mode's old ones fail theirs while stopping.
      if (unhealthy < kill || (Number.isFinite(unhealthy) && !Number.isFinite(kill)))
        row.unhealthy_s = s(unhealthy - routed);
      Object.assign(row, {
        out_s: s(out - routed),
        to_stop_s: s(kill - out),
        stop_s: s(die - kill),
        remove_s: s(find(drain.name, "destroy") - die),
      });
    }
    const next = adds[adds.indexOf(add) + 1];
    if (next && Number.isFinite(routed)) {
      const created2 = Number(/created in (\d+) ms/.exec(next.detail ?? "")?.[1] ?? 0);
      row.next_s = s(Math.max(0, at(next) - created2 - routed));
    }
    rows.push(row);
  }
  const start = at(events.find((e) => e.type === "start"));
  const done = at(events.find((e) => e.type === "done"));
  const boot = rows.reduce((n, r) => n + r.boot_s, 0);
  const lastRouted = Math.max(...reps.filter((e) => e.state === "routed").map(at));
  const removed = reps.filter((e) => e.state === "removed").map(at);
  const firstAdd = adds[0];
  const created0 = Number(/created in (\d+) ms/.exec(firstAdd?.detail ?? "")?.[1] ?? 0);
  const over = (done - start) / 1000 - boot - drainMs / 1000;
  return {
    wall_s: s(done - start) ?? 0,
    boot_s: Math.round(boot * 10) / 10,
    overhead_s: Math.round(over * 10) / 10,
    per_replica_s: Math.round((over / replicas) * 100) / 100,
    setup_s: s(at(firstAdd) - created0 - start) ?? 0,
    tail_s: s(done - lastRouted) ?? 0,
    after_s: s(done - Math.max(...removed)) ?? 0,
    rows,
  };
}

/** The new replicas' URLs, from their `routed` events ("<url>; Traefik serves [...]"). */
export function newUrls(events: RollEvent[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of events) {
    const url = e.state === "routed" ? urlOf(e.detail) : undefined;
    if (e.name && url) out[e.name] = url;
  }
  return out;
}

const f = (x: number | undefined) => (x === undefined ? "–" : x.toFixed(1));

/** Markdown: one line per rollout, then one per replica. */
export function tables(runs: { mode: string; n: number; run: number; load: number; b: Breakdown }[]): string {
  const head = [
    "| mode | N | run | load | rollout s | Σ boot s | overhead s | per replica s | setup s | tail s | after last removed s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...runs.map(
      ({ mode, n, run, load, b }) =>
        `| ${mode} | ${n} | ${run} | ${load.toFixed(1)} | ${f(b.wall_s)} | ${f(b.boot_s)} | ${f(b.overhead_s)} | ` +
        `${b.per_replica_s.toFixed(2)} | ${f(b.setup_s)} | ${f(b.tail_s)} | ${f(b.after_s)} |`,
    ),
  ];
  const rows = [
    "| mode | N | run | new | boot | healthy→routed | routed→next create | old | routed→unhealthy | routed→out of Traefik | out→kill | kill→die | die→removed |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ...runs.flatMap(({ mode, n, run, b }) =>
      b.rows.map(
        (r) =>
          `| ${mode} | ${n} | ${run} | ${r.name} | ${f(r.boot_s)} | ${f(r.route_s)} | ${f(r.next_s)} | ${r.old ?? "–"} | ` +
          `${f(r.unhealthy_s)} | ${f(r.out_s)} | ${f(r.to_stop_s)} | ${f(r.stop_s)} | ${f(r.remove_s)} |`,
      ),
    ),
  ];
  return `${head.join("\n")}\n\n${rows.join("\n")}`;
}
