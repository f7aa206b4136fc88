// A use case's context on the controller's fakes (controller/fakes.test-support.ts): the
// in-memory world as engine, router, clock and reporter, and the history and lock in memory.
import type { FakeWorld } from "../controller/fakes.test-support.js";
import type {
  ComposeProject,
  ContainerEvents,
  History,
  Images,
  Lock,
  LockInfo,
  Revision,
  ServiceRef,
  Tasks,
} from "../controller/ports.js";
import { systemClock } from "../engine/health.js";
import { lockKeeping } from "../state/keeping.js";
import type { AppContext, RolloutOptions } from "./context.js";

export class MemoryState implements History, Lock {
  revisions: Revision[] = [];
  held: LockInfo | undefined;
  acquired: LockInfo[] = [];
  /** Called on each refused acquire: lets a test finish the other run while we wait. */
  onRefused: () => void = () => {};

  async list(_svc: ServiceRef) {
    return [...this.revisions].sort((a, b) => b.number - a.number);
  }
  async record(_svc: ServiceRef, rev: Revision) {
    if (this.revisions.some((r) => r.number === rev.number)) throw new Error(`revision ${rev.number} exists`);
    this.revisions.push(rev);
  }
  async acquire(_svc: ServiceRef, info: LockInfo) {
    if (this.held) {
      const holder = this.held;
      this.onRefused();
      return { acquired: false as const, holder };
    }
    this.held = info;
    this.acquired.push(info);
    return { acquired: true as const };
  }
  async read() {
    return this.held;
  }
  async renew(_svc: ServiceRef, info: LockInfo) {
    return this.held?.since === info.since;
  }
  async release(_svc: ServiceRef, info?: LockInfo) {
    if (!info || this.held?.since === info.since) this.held = undefined;
  }
}

export const testOptions: RolloutOptions = {
  maxSurge: 1,
  healthTimeoutMs: 60_000,
  routeTimeoutMs: 10_000,
  drainMs: 1000,
  waitMs: 0,
  lockStaleMs: 30 * 60_000,
  lockLeaseMs: 60_000,
  historyLimit: 10,
  write: false,
  dryRun: false,
  preDeployTimeoutMs: 60_000,
  postDeployTimeoutMs: 60_000,
  migrationGate: "refuse",
  allowBreaking: false,
};

const noTasks: Tasks = {
  run: async () => {
    throw new Error("no one-off containers in this test");
  },
};
/** No compose files: the write-back says so and changes nothing. */
const noCompose: ComposeProject = {
  files: [],
  image: () => undefined,
  labels: () => ({}),
  replicas: () => undefined,
  hash: async () => "",
  planWriteBack: () => {
    throw new Error("no compose files in this test");
  },
  create: async () => {
    throw new Error("no compose files in this test");
  },
  rewrite: async () => {
    throw new Error("no compose files in this test");
  },
};
const noEvents: ContainerEvents = { watchCrashes: async () => () => {} };

/** Resolves only what `world` already has; a test that pulls passes its own `images`. */
const presentOnly = (world: FakeWorld): Images => ({
  ensure: async (ref) => {
    const image = await world.image(ref);
    if (!image) throw new Error(`${ref} is not in the fake world`);
    return image;
  },
});

export interface TestContext extends AppContext {
  said: string[];
}

/** An AppContext over `world` and `state`; `over` replaces any part, `opts` any setting. */
export function testContext(
  world: FakeWorld,
  state: MemoryState,
  over: Partial<Omit<AppContext, "opts">> & { opts?: Partial<RolloutOptions> } = {},
): TestContext {
  const said: string[] = [];
  const { opts, ...rest } = over;
  return {
    svc: { project: "demo", service: "web" },
    deps: { engine: world, router: world, clock: world, reporter: world },
    history: state,
    lock: state,
    actor: { user: "me", host: "this-runner", pid: process.pid },
    settings: {},
    opts: { ...testOptions, ...opts },
    images: presentOnly(world),
    events: noEvents,
    tasks: noTasks,
    checks: () => undefined,
    portByImage: {},
    compose: noCompose,
    // Real time paces the lease: the world's clock jumps on every sleep, which the keeper
    // would read as renewals missed for a whole lease.
    keeping: lockKeeping(state, systemClock),
    knownProject: async () => true,
    say: (line) => said.push(line),
    debug: () => {},
    ...rest,
    said,
  };
}
