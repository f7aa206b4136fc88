// The steps a fault-free rollout of the fault stack takes, asked of the decision core itself
// (controller/decide.ts) rather than written down: the SIGKILL cases kill before each of them,
// so a change to how compose-roll rolls (a step added, two folded into one) changes the matrix.
import { decide, type Step } from "../../controller/decide.js";
import type { Goal, Observation, Replica } from "../../controller/model.js";

/** One step as a matrix row names it: "route new 1, retiring old 1" (containers counted by role:
 * their numbers depend on when drains end). */
export interface PlannedStep {
  kind: Step["kind"];
  label: string;
}

const replica = (number: number, imageId: string, health: Replica["health"]): Replica => ({
  id: `c${number}-${imageId}`,
  name: `web-${number}`,
  number,
  imageId,
  imageRef: imageId,
  running: true,
  health,
  url: `http://web-${number}:8000`,
});

/**
 * Every step decide() names while `replicas` healthy old containers are replaced (maxSurge 1,
 * as the fault stack rolls), each new container turning healthy when awaited. A retired
 * container leaves the observation at once: its drain runs beside the loop, not as a step.
 */
export function rolloutSteps(replicas: number, maxSurge = 1): PlannedStep[] {
  const goal: Goal = { image: { ref: "new", id: "new", exposedPorts: [8000] }, replicas, maxSurge };
  const olds = Array.from({ length: replicas }, (_, i) => replica(i + 1, "old", "healthy"));
  const obs: Observation = { replicas: olds, routed: olds.map((r) => r.url as string) };
  const steps: PlannedStep[] = [];
  const ordinal = new Map<string, string>();
  let started = 0;
  const name = (r: Replica) => ordinal.get(r.id) ?? `old ${r.number}`;
  const drop = (r: Replica) => {
    obs.replicas = obs.replicas.filter((x) => x.id !== r.id);
    obs.routed = obs.routed.filter((u) => u !== r.url);
  };
  for (let guard = 0; guard < 100; guard++) {
    const step = decide(obs, goal);
    switch (step.kind) {
      case "done":
        return steps;
      case "start":
        obs.replicas.push(replica(step.number, "new", "starting"));
        ordinal.set(`c${step.number}-new`, `new ${++started}`);
        steps.push({ kind: step.kind, label: `start new ${started}` });
        break;
      case "await-health":
        step.replica.health = "healthy";
        steps.push({ kind: step.kind, label: `await ${name(step.replica)} healthy` });
        break;
      case "route":
        obs.routed.push(step.replica.url as string);
        if (step.retire) drop(step.retire);
        steps.push({
          kind: step.kind,
          label: `route ${name(step.replica)}${step.retire ? `, retiring ${name(step.retire)}` : ""}`,
        });
        break;
      case "retire":
        drop(step.replica);
        steps.push({ kind: step.kind, label: `retire ${name(step.replica)}` });
        break;
      default:
        throw new Error(`a fault-free rollout took a ${step.kind} step: ${JSON.stringify(step)}`);
    }
  }
  throw new Error("a fault-free rollout did not finish within 100 steps");
}
