// The channel wrapper's bookkeeping: Node's agent refs and unrefs its pooled sockets, and the
// count under them decides whether the one TCP socket holds the process open.
import { PassThrough } from "node:stream";
import type { ClientChannel } from "ssh2";
import { describe, expect, it } from "vitest";
import { EngineError } from "../controller/errors.js";
import { failOnExit, forwardError, socketLike } from "./sshChannel.js";

/** A stand-in channel: a stream with ssh2's close() (CHANNEL_CLOSE) and a stderr. */
function fakeChannel() {
  const closes: number[] = [];
  const ch = Object.assign(new PassThrough(), {
    close: () => closes.push(1),
    stderr: new PassThrough(),
  });
  return { ch: ch as unknown as ClientChannel, closes };
}

function counted() {
  let n = 1; // the channel starts counted
  return { track: (d: number) => (n += d), count: () => n };
}

describe("socketLike", () => {
  it("forwards unref/ref to the count, once each way", () => {
    const { ch } = fakeChannel();
    const c = counted();
    const s = socketLike(ch, c.track) as unknown as { ref(): void; unref(): void };
    s.unref();
    s.unref();
    expect(c.count()).toBe(0);
    s.ref();
    s.ref();
    expect(c.count()).toBe(1);
  });

  it("releases a destroyed channel at once and closes it on the wire, counting it once", () => {
    const { ch, closes } = fakeChannel();
    const c = counted();
    const s = socketLike(ch, c.track);
    s.on("error", () => undefined);
    s.destroy(new Error("gone"));
    expect(c.count()).toBe(0);
    expect(closes).toHaveLength(1);
    ch.emit("close");
    (s as unknown as { ref(): void }).ref();
    expect(c.count()).toBe(0);
  });

  it("does not release an unref'd channel again when it closes", () => {
    const { ch } = fakeChannel();
    const c = counted();
    (socketLike(ch, c.track) as unknown as { unref(): void }).unref();
    ch.emit("close");
    expect(c.count()).toBe(0);
  });
});

describe("failOnExit", () => {
  it("fails the stream with the remote's last stderr line when dial-stdio exits non-zero", async () => {
    const { ch } = fakeChannel();
    failOnExit(ch, "h1", "deploy");
    const failed = new Promise<Error>((r) => ch.once("error", r));
    ch.stderr.write("first\nbash: docker: command not found\n");
    await new Promise((r) => setImmediate(r));
    ch.emit("exit", 127);
    const err = await failed;
    expect(err).toBeInstanceOf(EngineError);
    expect(err.message).toBe(
      "ssh: `docker system dial-stdio` on h1 exited 127: bash: docker: command not found",
    );
    expect((err as EngineError).hint).toMatch(/on deploy's PATH/);
  });

  it("leaves the stream alone on exit 0", () => {
    const { ch } = fakeChannel();
    failOnExit(ch, "h1", "deploy");
    ch.emit("exit", 0);
    expect(ch.destroyed).toBe(false);
  });
});

describe("forwardError", () => {
  it("carries the refusal as an errno-like code, naming AllowTcpForwarding", () => {
    const e = forwardError(new Error("Connection refused"), "172.18.0.2", 8080, "h1");
    expect(e.message).toBe("ssh: h1 could not open a connection to 172.18.0.2:8080 (Connection refused)");
    expect((e as NodeJS.ErrnoException).code).toBe(
      "ssh forward to 172.18.0.2:8080 refused: Connection refused (AllowTcpForwarding on h1?)",
    );
  });
});
