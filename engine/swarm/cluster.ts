// The Swarm rollout's cluster port on the Engine API of a manager: services read and updated
// with the version they were read at (a concurrent change fails the update instead of being
// overwritten), tasks listed by service ID, images pinned `ref@digest` through the registry as
// `docker service update --image` and `docker stack deploy` pin them. Every call waits through
// a leader election (election.ts); a change is tried again only where doing it twice is safe.
import type Docker from "dockerode";
import { EngineError } from "../../controller/errors.js";
import type { SwarmCluster, SwarmServiceView, SwarmSnapshot } from "../../controller/swarm-ports.js";
import type { SwarmTaskView } from "../../controller/swarm-rollout.js";
import { call } from "../docker.js";
import { type ElectionWait, electionWait, swarmCall, swarmErrorKind, throughElection } from "./election.js";

/** Marks a stand-in with the service it stands in for, so a later run finds what a killed one left. */
export const STAND_IN = "compose-roll.stand-in";

interface Spec {
  Name: string;
  Labels?: Record<string, string>;
  Mode?: { Replicated?: { Replicas?: number } };
  TaskTemplate: { ContainerSpec: { Image: string } & Record<string, unknown> } & Record<string, unknown>;
  UpdateConfig?: Record<string, unknown>;
  EndpointSpec?: unknown;
}

interface Service {
  ID: string;
  Version: { Index: number };
  Spec: Spec;
}

interface Task {
  ID: string;
  ServiceID: string;
  DesiredState: string;
  Status: { State: string; Err?: string };
  Spec: { ContainerSpec: { Image: string } };
  NetworksAttachments?: { Addresses?: string[] }[];
}

const copy = <T>(x: T): T => structuredClone(x);

export class SwarmEngine implements SwarmCluster {
  constructor(
    private readonly docker: Docker,
    private readonly wait: ElectionWait = electionWait,
  ) {}

  async snapshot(name: string): Promise<SwarmSnapshot> {
    const s = await this.inspect(name);
    return { view: view(s), spec: copy(s.Spec) };
  }

  async origin(name: string, standIn: string): Promise<SwarmSnapshot> {
    const [s, from] = await Promise.all([this.inspect(name), this.inspect(standIn)]);
    const spec = copy(s.Spec);
    const { [STAND_IN]: _, ...labels } = from.Spec.Labels ?? {};
    spec.Labels = labels;
    if (from.Spec.UpdateConfig) spec.UpdateConfig = copy(from.Spec.UpdateConfig);
    else delete spec.UpdateConfig;
    return { view: view({ ...s, Spec: spec }), spec };
  }

  async resolve(image: string): Promise<string> {
    if (image.includes("@")) return image;
    const d = (await call(
      `resolve ${image} to a digest through its registry`,
      () => this.docker.getImage(image).distribution(),
      "check that the image is pushed and every node can pull it (the registry the nodes use)",
    )) as { Descriptor?: { digest?: string } };
    const digest = d.Descriptor?.digest;
    if (!digest)
      throw new EngineError(`the registry gave no digest for ${image}`, "push the image, then roll again");
    return `${image}@${digest}`;
  }

  async createStandIn(from: SwarmSnapshot, standIn: string, image: string, labels: Record<string, string>) {
    const spec = copy(from.spec as Spec);
    spec.Name = standIn;
    spec.Labels = { ...labels, [STAND_IN]: from.view.name };
    spec.Mode = { Replicated: { Replicas: 1 } };
    spec.TaskTemplate.ContainerSpec.Image = image;
    // No published ports: only Traefik reaches a stand-in.
    delete spec.EndpointSpec;
    const what = `create the stand-in service ${standIn}`;
    await throughElection(
      what,
      async (retried) => {
        try {
          await call(
            what,
            () =>
              // Auth first: a lone argument would be sent as the registry auth header too.
              this.docker.createService(
                undefined as never,
                { _body: spec } as never,
              ) as unknown as Promise<unknown>,
          );
        } catch (err) {
          // The try that found no leader created it after all: the name is taken by this very stand-in.
          if (!retried || swarmErrorKind(err) !== "name-taken") throw err;
          const made = await this.inspectOnce(standIn);
          if (made.Spec.Labels?.[STAND_IN] !== from.view.name) throw err;
        }
      },
      this.wait,
    );
  }

  async setLabels(name: string, labels: Record<string, string>): Promise<void> {
    await this.change(name, `update the labels of ${name}`, (spec) => {
      // A stand-in keeps its mark, whatever labels it is given.
      const mark = spec.Labels?.[STAND_IN];
      spec.Labels = { ...labels, ...(mark ? { [STAND_IN]: mark } : {}) };
    });
  }

  async replace(name: string, image: string, labels: Record<string, string>): Promise<void> {
    await this.change(name, `update ${name} to ${image}`, (spec) => {
      spec.Labels = labels;
      spec.TaskTemplate.ContainerSpec.Image = image;
      // Out of Traefik, nothing serves from it: every task at once.
      spec.UpdateConfig = {
        ...spec.UpdateConfig,
        Parallelism: 0,
        Order: "stop-first",
        FailureAction: "pause",
      };
    });
  }

  async putBack(name: string, labels: Record<string, string>, from: SwarmSnapshot): Promise<void> {
    const update = (from.spec as Spec).UpdateConfig;
    await this.change(name, `put the labels of ${name} back`, (spec) => {
      spec.Labels = labels;
      if (update) spec.UpdateConfig = copy(update);
      else delete spec.UpdateConfig;
    });
  }

  async restore(from: SwarmSnapshot): Promise<void> {
    const name = from.view.name;
    await this.change(name, `put ${name}'s spec back`, (spec) =>
      Object.assign(spec, copy(from.spec as Spec)),
    );
  }

  async resubmit(name: string): Promise<void> {
    await this.change(name, `resubmit ${name}'s spec`, () => {});
  }

  async tasks(name: string): Promise<SwarmTaskView[]> {
    const s = await this.inspect(name);
    const image = s.Spec.TaskTemplate.ContainerSpec.Image;
    return (await this.allTasks(s))
      .filter((t) => t.Spec.ContainerSpec.Image === image)
      .map((t) => ({
        id: t.ID,
        state: t.Status.State,
        desired: t.DesiredState,
        addresses: (t.NetworksAttachments ?? []).flatMap((n) =>
          (n.Addresses ?? []).map((a) => a.split("/")[0] ?? a),
        ),
        ...(t.Status.Err ? { error: t.Status.Err } : {}),
      }));
  }

  async taskIds(name: string): Promise<string[]> {
    return (await this.allTasks(await this.inspect(name))).map((t) => t.ID);
  }

  private async allTasks(s: Service): Promise<Task[]> {
    const tasks = (await swarmCall(this.wait, `list the tasks of ${s.Spec.Name}`, () =>
      this.docker.listTasks({ filters: { service: [s.ID] } }),
    )) as unknown as Task[];
    return tasks.filter((t) => t.ServiceID === s.ID);
  }

  async standIns(name: string): Promise<string[]> {
    const list = (await swarmCall(this.wait, `list the stand-ins of ${name}`, () =>
      this.docker.listServices({ filters: { label: [`${STAND_IN}=${name}`] } }),
    )) as unknown as Service[];
    return list.map((s) => s.Spec.Name);
  }

  async remove(name: string): Promise<void> {
    // Gone already (a removal that found no leader but was applied) is removed.
    await swarmCall(this.wait, `remove the service ${name}`, async () => {
      try {
        await this.docker.getService(name).remove();
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    });
  }

  private inspect(name: string): Promise<Service> {
    return throughElection(`read the service ${name}`, () => this.inspectOnce(name), this.wait);
  }

  private async inspectOnce(name: string): Promise<Service> {
    return (await call(`read the service ${name}`, () => this.docker.getService(name).inspect())) as Service;
  }

  /**
   * One update at the version just read: `edit` changes the spec in place. Through an election
   * the read and the update are tried again together; `edit` sets values, so applying it to a spec
   * it already changed changes nothing. After a try that found no leader, a version moved on is
   * that try's own update applied late: read again, apply again.
   */
  private async change(name: string, what: string, edit: (spec: Spec) => void): Promise<void> {
    await throughElection(
      what,
      async (retried) => {
        for (let moved = 0; ; moved++) {
          const s = await this.inspectOnce(name);
          const spec = copy(s.Spec);
          edit(spec);
          try {
            await call(what, () =>
              this.docker
                .getService(s.ID)
                .update({ _query: { version: s.Version.Index }, _body: spec } as never),
            );
            return;
          } catch (err) {
            if (!retried || moved >= 2 || swarmErrorKind(err) !== "out-of-sequence") throw err;
          }
        }
      },
      this.wait,
    );
  }
}

function view(s: Service): SwarmServiceView {
  return {
    name: s.Spec.Name,
    version: s.Version.Index,
    image: s.Spec.TaskTemplate.ContainerSpec.Image,
    replicas: s.Spec.Mode?.Replicated?.Replicas ?? 1,
    labels: s.Spec.Labels ?? {},
  };
}
