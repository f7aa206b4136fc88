// The steps `repair` would take on a Swarm (app/swarm-repair.ts does them), one line each, in its
// order: what `repair --dry-run` shows. Pure: from what the cluster shows now.
import { planLine } from "./swarm-rollout.js";

export interface RepairPlanFacts {
  /** `<stack>_<service>`. */
  name: string;
  replicas: number;
  /** The image the service converges on: the one its spec names now. */
  image: string;
  /** The image the interrupted run replaced, when it differs: where an unhealthy `image` goes back to. */
  back?: string;
  /** `<users' balancer>@swarm`. */
  balancer: string;
  drain: string;
  /** The service is in Traefik with its own labels. */
  serves: boolean;
  /** Stand-ins a killed run left, and those of them in the users' balancer. */
  left: string[];
  joined: string[];
  /** Where the service's own labels come from when it lost them: a stand-in. */
  labelsFrom?: string;
  /** The lock of the interrupted run (taken over) and its revision, recorded at the end. */
  takeOver?: { command: string; why: string; revision: number };
}

export function swarmRepairSteps(f: RepairPlanFacts): string[] {
  const { name, replicas: n, balancer: lb } = f;
  const beside =
    f.joined.length > 0 ? `the ${f.joined.length} stand-in(s) in it (${f.joined.join(", ")})` : undefined;
  const steps = [
    ...(f.takeOver
      ? [`take over the lock of the interrupted ${f.takeOver.command} (${f.takeOver.why})`]
      : []),
    f.serves
      ? `wait for ${name}'s ${n} task(s) of ${f.image} to run (it is in Traefik with its own labels)`
      : `update ${name} on ${f.image} while out of Traefik (probe-only labels; its tasks restart only if they ran another image); prove its ${n} task(s) through a probe router${
          f.back ? `; if they do not become healthy within --health-timeout, the same back to ${f.back}` : ""
        }`,
  ];
  const own = f.labelsFrom ? ` (as ${f.labelsFrom} carries them)` : "";
  steps.push(`${planLine.putBack(name, lb, beside)}${own}`);
  if (f.left.length > 0)
    steps.push(
      planLine.retire(name, lb, f.drain).replace("the stand-ins", `the stand-ins (${f.left.join(", ")})`),
    );
  steps.push(planLine.settle(name));
  if (f.takeOver)
    steps.push(
      `record revision ${f.takeOver.revision} of the interrupted run (complete on its target, rolled back otherwise) and free the lock`,
    );
  return steps;
}
