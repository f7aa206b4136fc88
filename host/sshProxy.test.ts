// The unix socket docker CLI subprocesses dial: bytes both ways, and no channel left open by a
// client that hung up before it was ready.
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import { Duplex, PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { type LocalSocket, serveLocalSocket } from "./sshProxy.js";

/** A remote end that answers every chunk with it upper-cased. */
function shouting(): Duplex {
  const d: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      d.push(chunk.toString().toUpperCase());
      cb();
    },
  });
  return d;
}

let proxies: LocalSocket[] = [];
afterEach(() => {
  for (const p of proxies) p.close();
  proxies = [];
});

describe("serveLocalSocket", () => {
  it("pipes a client to the channel `dial` opens, both ways", async () => {
    const proxy = await serveLocalSocket(async () => shouting());
    proxies.push(proxy);
    const client = connect(proxy.path);
    const answer = new Promise<string>((r) => client.once("data", (d) => r(d.toString())));
    client.write("ping");
    expect(await answer).toBe("PING");
    client.destroy();
  });

  it("destroys a channel that opens after its client hung up", async () => {
    let open!: (d: Duplex) => void;
    const opened = new Promise<Duplex>((r) => {
      open = r;
    });
    let asked!: () => void;
    const dialled = new Promise<void>((r) => {
      asked = r;
    });
    const proxy = await serveLocalSocket(() => {
      asked();
      return opened;
    });
    proxies.push(proxy);
    const client = connect(proxy.path);
    await dialled;
    client.destroy();
    await new Promise((r) => setTimeout(r, 100));
    // Like an ssh channel, ending it (EOF) does not close it: only destroy() does.
    const remote = new PassThrough({ autoDestroy: false });
    open(remote);
    await new Promise((r) => setImmediate(r));
    expect(remote.destroyed).toBe(true);
  });

  it("close() stops listening and removes the socket's directory", async () => {
    const proxy = await serveLocalSocket(async () => shouting());
    expect(existsSync(proxy.path)).toBe(true);
    proxy.close();
    expect(existsSync(dirname(proxy.path))).toBe(false);
  });
});
