// A service's running configuration for the release plan's "what changed" (compose/describe.ts):
// its newest running container's Config and the image's own defaults, through the Engine API.
import type Docker from "dockerode";
import type { ServiceConfigs } from "../compose/describe.js";
import { call, statusOf } from "./docker.js";
import { serviceContainers } from "./workers.js";

const defaults = (c: {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Labels?: Record<string, string> | null;
}) => ({
  env: c.Env ?? [],
  cmd: c.Cmd ?? null,
  labels: c.Labels ?? {},
});

export function serviceConfigs(docker: Docker, project: string): ServiceConfigs {
  const imageOf = async (ref: string) => {
    try {
      return await docker.getImage(ref).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  };
  return {
    async running(service) {
      const newest = (await serviceContainers(docker, project, service, { all: false })).at(-1);
      if (!newest) return undefined;
      const c = await call(`inspect ${newest.Id.slice(0, 12)}`, () =>
        docker.getContainer(newest.Id).inspect(),
      );
      const img = await imageOf(c.Image);
      return {
        config: { image: c.Config.Image, imageId: c.Image, ...defaults(c.Config) },
        ...(img ? { image: defaults(img.Config) } : {}),
      };
    },
    async imageId(ref) {
      return (await imageOf(ref))?.Id;
    },
  };
}
