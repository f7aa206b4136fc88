// Read-only commands (history, status, lock status) and the one lock repair a human may do
// (lock release). They print for people, or one JSON document with --json.
import { describeLock } from "../app/lock.js";
import { history, status } from "../app/status.js";
import { serviceFacts } from "../compose/policies.js";
import type { Project } from "../compose/project.js";
import { policyOf } from "../controller/release-policy.js";
import { releasesOf } from "../controller/revisions.js";
import { routedStackService } from "../engine/swarm/detect.js";
import { DockerHistory, human } from "../state/index.js";
import { openContext, openTarget } from "./context.js";
import type { RawOptions } from "./options.js";
import { out, printHistory, table } from "./print.js";
import { swarmOptions, swarmState } from "./swarm.js";
import { swarmHistoryCommand, swarmStatusCommand } from "./swarm-inspect.js";

export async function historyCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  if (service === undefined) return releaseHistory(raw);
  const ctx = await openTarget(service, raw, { traefik: false, swarm: true });
  if ("swarm" in ctx) return swarmHistoryCommand(ctx.swarm, ctx.swarm.raw);
  const { revisions, lost } = await history(ctx.app);
  if (lost && !ctx.opts.json) ctx.say(lost);
  printHistory({
    svc: ctx.svc,
    revisions,
    json: ctx.opts.json,
    ...(lost ? { extra: { lost } } : {}),
    where: "",
    image: (i) => i.ref,
  });
}

/** Without a service: the project's releases, one entry each, with every service's image. */
async function releaseHistory(raw: RawOptions): Promise<void> {
  const ctx = await openContext(undefined, raw, { traefik: false, project: true });
  const project = ctx.project.name;
  // On a Swarm manager a stack's one routed service is what it means: its records are in the cluster.
  const routed = await routedStackService(ctx.docker, project);
  if (routed) return historyCommand(routed, raw);
  const releases = releasesOf(await new DockerHistory({ docker: ctx.docker }).listProject(project));
  if (ctx.opts.json) return out(JSON.stringify({ project, releases }));
  if (releases.length === 0) return out(`no revisions of ${project} recorded`);
  table([
    ["RELEASE", "WHEN", "RESULT", "SERVICES"],
    ...releases.map((r) => [
      r.id,
      r.at,
      r.services.every((s) => s.revision.result === "complete") ? "complete" : "incomplete",
      r.services.map((s) => `${s.service}=${s.revision.image.ref} (rev ${s.revision.number})`).join(", "),
    ]),
  ]);
}

export async function statusCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const ctx = await openTarget(service, raw, { traefik: false, mode: true, swarm: true });
  if ("swarm" in ctx) return swarmStatusCommand(ctx.swarm, ctx.swarm.raw);
  const [{ obs, lock, routing, view, drain, drift, routed, unsynced, bake }, policy] = await Promise.all([
    status(ctx.app),
    releasePolicy(ctx.project, ctx.env, ctx.svc.service),
  ]);
  if (ctx.opts.json)
    return out(
      JSON.stringify({
        service: ctx.svc,
        mode: routing.mode,
        ...(routing.mode === "labels" ? { traefikService: routing.service, drain, traefik: view } : {}),
        ...obs,
        drift,
        lock: lock ?? null,
        ...(policy ? { policy } : {}),
        ...(bake ? { bake } : {}),
      }),
    );
  out(`mode: ${routing.summary}`);
  if (policy) out(`policy: ${policy.policy} (${policy.why}): how \`compose-roll up\` rolls it`);
  if (drain) out(`drain: ${drain}`);
  const inTraefik = (url: string | undefined) =>
    url && routed.includes(url) ? `yes ${url}${view?.status[url] ? ` ${view.status[url]}` : ""}` : "no";
  table([
    ["CONTAINER", "IMAGE", "STATE", "HEALTH", "IN TRAEFIK", "REVISION"],
    ...obs.replicas.map((r) => [
      r.name,
      r.imageRef,
      r.running ? "running" : `exited (${r.exitCode ?? "?"})`,
      r.health,
      inTraefik(r.url),
      r.revision ? String(r.revision) : "-",
    ]),
  ]);
  out(lock ? `lock: held — ${describeLock(lock)}` : "lock: free");
  if (bake) out(`bake in progress:\n${bake.map((l) => `  ${l}`).join("\n")}`);
  out(drift.length ? `drift:\n${drift.map((p) => `  - ${p}`).join("\n")}` : "drift: none");
  if (unsynced)
    out(`to make Traefik serve exactly the running containers: compose-roll sync ${ctx.svc.service}`);
}

/** The service's lock: on one host a container, on a Swarm a config in the cluster. */
async function lockOf(service: string | undefined, raw: RawOptions) {
  const ctx = await openTarget(service, raw, { traefik: false, swarm: true });
  if (!("swarm" in ctx))
    return {
      lock: ctx.lock,
      svc: ctx.svc,
      json: ctx.opts.json,
      say: ctx.say,
      where: "Docker host",
      next: "run `compose-roll status` and `compose-roll repair` once it ends",
    };
  const t = ctx.swarm;
  const json = swarmOptions(t, t.raw).json;
  return {
    lock: swarmState(t).lock,
    svc: t.svc,
    json,
    say: t.say,
    where: "Swarm manager",
    // Repair converges what a killed run left (stand-ins, the service out of Traefik).
    next: "run `compose-roll repair` once it ends",
  };
}

export async function lockStatusCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const { lock: held, svc, json, where } = await lockOf(service, raw);
  const lock = await held.read(svc);
  if (json) return out(JSON.stringify({ service: svc, lock: lock ?? null }));
  const lease =
    lock?.leaseMs !== undefined && lock.renewedAgoMs !== undefined
      ? `; lease ${human(lock.leaseMs)}, last renewed ${human(lock.renewedAgoMs)} ago (${where}'s clock)`
      : "";
  out(
    lock
      ? `held — ${describeLock(lock)}${lease}`
      : `free: no rollout of ${svc.project}/${svc.service} holds it`,
  );
}

export async function lockReleaseCommand(service: string | undefined, raw: RawOptions): Promise<void> {
  const { lock: held, svc, say, next } = await lockOf(service, raw);
  const lock = await held.read(svc);
  if (!lock) return out("free: nothing to release");
  await held.release(svc);
  // Said loudly: a live rollout whose lock is released can now race another one.
  say(`released the lock of ${describeLock(lock)}`);
  say(`if that rollout was still running, ${next}`);
}

/** The service's policy in a release (`compose-roll up`); none without compose files. */
async function releasePolicy(
  project: Project | undefined,
  env: Record<string, string | undefined>,
  service: string,
): Promise<{ policy: string; why: string } | undefined> {
  if (!project?.files.length) return undefined; // labels-only: no files to read a policy from
  const facts = (await serviceFacts(project, env)).find((f) => f.service === service);
  return facts && policyOf(facts);
}
