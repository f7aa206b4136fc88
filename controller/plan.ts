// A rollout on paper: decide() driven against a simulated world in which every new
// container turns healthy and every change takes, so `--dry-run` shows the exact order of
// starts and stops the real loop would take. Pure, like decide() itself.
import { decide } from "./decide.js";
import type { Goal, Observation, Replica } from "./model.js";

export type PlannedStep =
  | { kind: "start"; name: string; number: number }
  | { kind: "route"; name: string }
  | { kind: "retire"; name: string; image: string };

/** `name(number)` gives a container's name (compose: <project>-<service>-<n>). */
export function planRollout(obs: Observation, goal: Goal, name: (n: number) => string): PlannedStep[] {
  const replicas = obs.replicas.map((r) => ({ ...r }));
  let routed = [...obs.routed];
  // A retired container drains in the background while the next one starts: its number is
  // still taken for that start, and free again after it.
  let held: number[] = [];
  // The plan's own starts, as the loop's: what runs already is judged as the loop judges it.
  const mine: string[] = [];
  const steps: PlannedStep[] = [];
  const budget = 10 * (goal.replicas + 2) * Math.max(1, goal.maxSurge) + replicas.length;
  for (let i = 0; i < budget; i++) {
    const step = decide({ replicas, routed, held, mine }, goal);
    switch (step.kind) {
      case "done":
        return steps;
      case "start": {
        const r: Replica = {
          id: `planned-${step.number}`,
          name: name(step.number),
          number: step.number,
          imageId: goal.image.id,
          imageRef: goal.image.ref,
          running: true,
          health: "starting",
          url: `planned://${step.number}`,
          ...(goal.config ? { configHash: goal.config } : {}),
        };
        replicas.push(r);
        mine.push(r.id);
        held = [];
        steps.push({ kind: "start", name: r.name, number: r.number });
        break;
      }
      case "await-health":
        // decide() hands back the simulated world's own object.
        step.replica.health = "healthy";
        break;
      case "route":
        routed = [...routed, step.replica.url as string];
        steps.push({ kind: "route", name: step.replica.name });
        break;
      case "retire": {
        const r = step.replica;
        routed = routed.filter((u) => u !== r.url);
        replicas.splice(
          replicas.findIndex((x) => x.id === r.id),
          1,
        );
        held = [...held, r.number];
        steps.push({ kind: "retire", name: r.name, image: r.imageRef });
        break;
      }
      case "unroute-orphan":
        routed = routed.filter((u) => u !== step.url);
        break;
      case "fail":
        return steps;
    }
  }
  return steps;
}
