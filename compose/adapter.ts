// The ComposeProject port over a loaded project: compose's own hash (`docker compose
// config --hash`, through serviceHash) and the write-back into the files that declare the
// image. `env` pins the Docker host for the docker CLI compose runs as.
import type { ComposeProject } from "../controller/ports.js";
import { type Project, serviceHash } from "./project.js";
import { applyWrites, planWriteBack } from "./writeback.js";

export function composeProject(project: Project, env: Record<string, string | undefined>): ComposeProject {
  return {
    files: project.files,
    image: (service) => project.services[service]?.image,
    hash: (service, o = {}) =>
      serviceHash(project, service, o.unset ? { ...env, [o.unset]: undefined } : env, o.ref),
    planWriteBack: (service, ref) => {
      const plan = planWriteBack(project, service, ref, env);
      return {
        writes: plan.writes,
        summary: plan.summary,
        warnings: plan.warnings,
        ...(plan.source.kind === "variable" ? { variable: plan.source.variable } : {}),
      };
    },
    write: applyWrites,
  };
}
