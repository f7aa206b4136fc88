// `history` and `status` of a Swarm stack service: read from the cluster through a manager (the
// service, its tasks, and the lock and revisions kept as Swarm configs), printed as the compose
// case prints them, or as one JSON document with --json.
import { describeLock } from "../app/lock.js";
import { swarmStatus } from "../app/swarm-status.js";
import { describeSwarm } from "../controller/swarm-rules.js";
import { SwarmEngine } from "../engine/swarm/cluster.js";
import type { RawOptions } from "./options.js";
import { out, printHistory, table } from "./print.js";
import { type SwarmTarget, swarmName, swarmOptions, swarmState } from "./swarm.js";

const json = (t: SwarmTarget, raw: RawOptions) => swarmOptions(t, raw).json;

export async function swarmHistoryCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  const revisions = await swarmState(t).history.list(t.svc);
  printHistory({
    svc: t.svc,
    revisions,
    json: json(t, raw),
    extra: { swarmService: swarmName(t) },
    where: " in the Swarm",
    // Pinned: on a Swarm a tag can move, the digest is what the tasks ran.
    image: (i) => i.id,
  });
}

export async function swarmStatusCommand(t: SwarmTarget, raw: RawOptions): Promise<void> {
  const s = await swarmStatus({
    cluster: new SwarmEngine(t.docker),
    ...swarmState(t),
    svc: t.svc,
    name: swarmName(t),
  });
  if (json(t, raw))
    return out(
      JSON.stringify({
        service: t.svc,
        mode: "swarm",
        swarmService: s.name,
        image: s.image,
        replicas: s.replicas,
        running: s.running,
        tasks: s.tasks,
        inTraefik: s.inTraefik,
        standIns: s.standIns,
        lock: s.lock ?? null,
        lastRevision: s.last ?? null,
      }),
    );
  out(`mode: swarm: ${describeSwarm(t.facts)}`);
  out(`image: ${s.image}`);
  out(`tasks: ${s.running} of ${s.replicas} running`);
  if (s.tasks.length)
    table([
      ["TASK", "STATE", "DESIRED", "ADDRESS", "ERROR"],
      ...s.tasks.map((k) => [
        k.id.slice(0, 12),
        k.state,
        k.desired,
        k.addresses.join(",") || "-",
        k.error ?? "",
      ]),
    ]);
  out(
    s.inTraefik
      ? "in Traefik: yes, by its own labels"
      : "in Traefik: no (its labels take it out, as a rollout does while it is replaced)",
  );
  if (s.standIns.length)
    out(
      `stand-ins a killed rollout left: ${s.standIns.join(", ")} (\`compose-roll repair ${t.svc.service}\` retires them)`,
    );
  out(s.lock ? `lock: held — ${describeLock(s.lock)}` : "lock: free");
  const r = s.last;
  out(
    r ? `last revision: ${r.number} ${r.result} at ${r.at}: ${r.image.id}` : "last revision: none recorded",
  );
}
