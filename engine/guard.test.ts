// The Engine API bounds against a fake engine on a unix socket that accepts every connection
// and answers nothing (a host whose network went away under an open connection), or answers
// a pull's headers and then falls silent.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { call } from "./docker.js";
import Dockerode from "./dockerode.js";
import { cutOff, guard } from "./guard.js";

const LIMITS = { requestMs: 300, pullIdleMs: 300 };
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

async function silentEngine(answer?: (req: string, sock: Socket) => void) {
  const dir = mkdtempSync(join(tmpdir(), "guard-"));
  const path = join(dir, "docker.sock");
  const heard: string[] = [];
  const socks: Socket[] = [];
  const server: Server = createServer((sock) => {
    socks.push(sock);
    sock.once("data", (d) => {
      const line = d.toString().split("\r\n")[0] ?? "";
      heard.push(line);
      answer?.(line, sock);
    });
  });
  await new Promise<void>((ok) => server.listen(path, ok));
  cleanup.push(() => {
    for (const s of socks) s.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const docker = new Dockerode({ socketPath: path });
  return { docker, heard };
}

const settled = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: Error) => e,
  );

describe("Engine API bounds", () => {
  it("a request the engine never answers fails after requestMs, with a line saying so", async () => {
    const { docker } = await silentEngine();
    guard(docker, undefined, LIMITS);
    const t0 = Date.now();
    const err = await settled(call("list the containers of demo/web", () => docker.listContainers()));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(String(err)).toMatch(
      /could not list the containers of demo\/web: no answer from the Docker engine within 0.3s/,
    );
    expect((err as { hint?: string }).hint).toMatch(/check the network path/);
  });

  it("waits on `wait` and `stop` as long as the container takes: no deadline there", async () => {
    const { docker, heard } = await silentEngine();
    guard(docker, undefined, LIMITS);
    let done = false;
    void docker
      .getContainer("abc")
      .wait()
      .finally(() => {
        done = true;
      })
      .catch(() => undefined); // the socket closed at cleanup
    await new Promise((r) => setTimeout(r, 900));
    expect(heard).toEqual([expect.stringMatching(/^POST \/containers\/abc\/wait/)]);
    expect(done).toBe(false);
  });

  it("a pull whose progress stops is given up after pullIdleMs", async () => {
    const body = '{"status":"Pulling from x/y"}\n';
    const { docker } = await silentEngine((_line, sock) =>
      sock.write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
          `${body.length.toString(16)}\r\n${body}\r\n`,
      ),
    );
    guard(docker, undefined, LIMITS);
    const stream = (await docker.pull("x/y:1")) as NodeJS.ReadableStream;
    const chunks: string[] = [];
    const err = await new Promise<Error>((ok) => {
      stream.on("data", (d: Buffer) => chunks.push(d.toString()));
      stream.on("error", ok);
    });
    expect(chunks.join("")).toMatch(/Pulling from/);
    expect(err.message).toMatch(/sent no pull progress for 0.3s/);
  });

  it("cutOff: the request in flight fails, later ones are refused, the transport is closed", async () => {
    const { docker, heard } = await silentEngine();
    let closed = 0;
    guard(docker, () => closed++, { requestMs: 60_000, pullIdleMs: 60_000 });
    const inFlight = settled(docker.listContainers());
    await new Promise((r) => setTimeout(r, 100));
    const why = new Error("lost the lock of demo/web");
    cutOff(docker, why);
    expect(await inFlight).toBe(why);
    expect(await settled(docker.ping())).toBe(why);
    expect(heard).toHaveLength(1); // the ping never left
    expect(closed).toBe(1);
  });
});
