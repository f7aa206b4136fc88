// The ComposeProject port over a loaded project: compose's own hash (`docker compose
// config --hash`, through serviceHash) and the write-back into the files that declare the
// image. `env` pins the Docker host for the docker CLI compose runs as.
import type { ComposeProject, WriteBackPlan } from "../controller/ports.js";
import { createReplicas } from "./create.js";
import { loadRawImages, type Project, serviceHash } from "./project.js";
import { applyWrites, planWriteBack } from "./writeback.js";
import { withWriteLock } from "./writeLock.js";

export function composeProject(project: Project, env: Record<string, string | undefined>): ComposeProject {
  return {
    files: project.files,
    image: (service) => project.services[service]?.image,
    labels: (service) => project.services[service]?.labels ?? {},
    replicas: (service) => project.services[service]?.replicas,
    hash: (service, o = {}) =>
      serviceHash(project, service, o.unset ? { ...env, [o.unset]: undefined } : env, o.ref),
    planWriteBack: (service, ref) => portPlan(planWriteBack(project, service, ref, env)),
    create: (service, count, o = {}) => createReplicas(project, service, count, env, o),
    rewrite: async (service, ref) => {
      // The files as compose merges them now: another run (a second pipeline that rolled to
      // this image first) may have written them since they were loaded.
      const now = async (): Promise<Project> =>
        project.rawImages && project.files.length
          ? { ...project, rawImages: await loadRawImages(project.args, { cwd: project.dir, env }) }
          : project;
      const first = planWriteBack(await now(), service, ref, env);
      return withWriteLock(
        first.writes.map((w) => w.path),
        async () => {
          const again = planWriteBack(await now(), service, ref, env);
          applyWrites(again.writes);
          return portPlan(again);
        },
      );
    },
  };
}

function portPlan(plan: ReturnType<typeof planWriteBack>): WriteBackPlan {
  return {
    writes: plan.writes,
    summary: plan.summary,
    warnings: plan.warnings,
    ...(plan.source.kind === "variable" ? { variable: plan.source.variable } : {}),
  };
}
