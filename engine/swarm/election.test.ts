// The Swarm error kinds and the wait through a leader election, on a clock the test drives.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EngineError, NoLeaderError } from "../../controller/errors.js";
import { engineError } from "../docker.js";
import { ELECTION_WAIT_MS, swarmErrorKind, throughElection } from "./election.js";

/** An Engine error as docker-modem throws it. */
const daemon = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), {
    statusCode,
    json: { message },
  });

/** swarmkit's and moby's messages while the managers have no leader (raft.go, cluster.go). */
const ELECTION = [
  "rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status",
  "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.",
  "rpc error: code = Unknown desc = raft: no elected cluster leader",
  "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
  "rpc error: code = Unknown desc = failed to get connection to leader: peer not found",
  "rpc error: code = Unavailable desc = transport is closing",
  "This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.",
];

function fakeClock() {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    clock: {
      now: () => now,
      sleep: async (ms: number) => {
        slept.push(ms);
        now += ms;
      },
    },
  };
}

describe("swarmErrorKind", () => {
  it("reads an election in each of swarmkit's messages, raw or wrapped by `call`, with 500 or 503", () => {
    for (const m of ELECTION) {
      expect(swarmErrorKind(daemon(500, m)), m).toBe("no-leader");
      expect(swarmErrorKind(daemon(503, m)), m).toBe("no-leader");
      expect(swarmErrorKind(engineError(daemon(500, m), "read the service shop_web")), m).toBe("no-leader");
    }
  });

  it("tells a stale version, a taken name and a gone object apart from an election", () => {
    expect(swarmErrorKind(daemon(500, "rpc error: code = Unknown desc = update out of sequence"))).toBe(
      "out-of-sequence",
    );
    expect(
      swarmErrorKind(daemon(409, "rpc error: code = AlreadyExists desc = config x already exists")),
    ).toBe("name-taken");
    expect(swarmErrorKind(daemon(404, "service shop_web not found"))).toBe("gone");
    expect(
      swarmErrorKind(
        daemon(
          503,
          "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state.",
        ),
      ),
    ).toBe("other");
  });

  it("property: an election only in a server error from the daemon; never a client error, never without a status", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ELECTION),
        fc.string(),
        fc.integer({ min: 400, max: 499 }),
        (m, around, client) => {
          const message = `${around}${m}${around}`;
          expect(swarmErrorKind(daemon(500, message))).toBe("no-leader");
          if (client !== 404 && client !== 409) expect(swarmErrorKind(daemon(client, message))).toBe("other");
          // A socket or ssh failure quoting anything is no answer from a manager.
          expect(swarmErrorKind(Object.assign(new Error(message), { code: "ECONNRESET" }))).toBe("other");
        },
      ),
    );
  });

  it("property: a server error naming none of the election's signs is not one", () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/leader|deadline|unavailable|prepared/i.test(s)),
        (m) => {
          expect(["other", "out-of-sequence"]).toContain(swarmErrorKind(daemon(500, m)));
        },
      ),
    );
  });
});

describe("throughElection", () => {
  it("tries again until a leader answers, telling once, and says whether an earlier try found none", async () => {
    const { clock, slept } = fakeClock();
    const told: string[] = [];
    const retried: boolean[] = [];
    const got = await throughElection(
      "update shop_web",
      async (r) => {
        retried.push(r);
        if (retried.length < 4) throw daemon(500, ELECTION[0] as string);
        return "done";
      },
      { clock, onWait: (what, why) => told.push(`${what}: ${why}`) },
    );
    expect(got).toBe("done");
    expect(retried).toEqual([false, true, true, true]);
    expect(slept).toEqual([250, 500, 1000]);
    expect(told).toEqual([`update shop_web: ${ELECTION[0]}`]);
  });

  it("gives up after the wait with one line naming what and why: a NoLeaderError (exit 9)", async () => {
    const { clock } = fakeClock();
    let tries = 0;
    const err = await throughElection(
      "take the lock of shop/web",
      async () => {
        tries++;
        throw engineError(daemon(500, ELECTION[1] as string), "take the lock of shop/web");
      },
      { clock },
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(NoLeaderError);
    expect((err as Error).message).toMatch(
      /^the Swarm has no leader: could not take the lock of shop\/web for 30 s \(rpc error: .*The swarm does not have a leader/,
    );
    expect((err as NoLeaderError).hint).toMatch(/`docker node ls` shows a Leader/);
    // 250, 500, 1000 then every 2 s up to 30 s.
    expect(tries).toBe(4 + Math.ceil((ELECTION_WAIT_MS - 1750) / 2000));
  });

  it("counts the wait from the start of the try that found no leader (a call may hang 20 s first)", async () => {
    const { clock } = fakeClock();
    let tries = 0;
    const err = await throughElection(
      "list the tasks of shop_web",
      async () => {
        tries++;
        await clock.sleep(20_000);
        throw daemon(500, ELECTION[3] as string);
      },
      { clock },
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(NoLeaderError);
    expect(tries).toBe(2);
  });

  it("passes any other failure through at once", async () => {
    const { clock, slept } = fakeClock();
    const stale = engineError(daemon(500, "update out of sequence"), "update shop_web");
    await expect(throughElection("update shop_web", () => Promise.reject(stale), { clock })).rejects.toBe(
      stale,
    );
    expect(slept).toEqual([]);
    expect(stale).toBeInstanceOf(EngineError);
  });
});
