// A Docker Engine that fails: it answers the version handshake like a real daemon, then HTTP
// 500 to every other call, on a unix socket compose-roll reaches through DOCKER_HOST. An engine
// failing mid-conversation is no input the user can fix: compose-roll must end with exit 1
// (unexpected), one line, and no stack trace.
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FakeEngine {
  /** DOCKER_HOST for it. */
  host: string;
  /** Calls it was asked, "METHOD path" (query strings dropped). */
  calls: string[];
  close(): Promise<void>;
}

export async function startFailingEngine(message = "injected engine fault"): Promise<FakeEngine> {
  const socket = join(mkdtempSync(join(tmpdir(), "compose-roll-fake-engine-")), "docker.sock");
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    calls.push(`${req.method} ${path}`);
    res.setHeader("Api-Version", "1.47");
    res.setHeader("Content-Type", "application/json");
    if (path.endsWith("/_ping")) return void res.end("OK");
    if (path.endsWith("/version"))
      return void res.end(JSON.stringify({ ApiVersion: "1.47", MinAPIVersion: "1.24", Version: "27.5.1" }));
    res.statusCode = 500;
    res.end(JSON.stringify({ message }));
  });
  await new Promise<void>((ok) => server.listen(socket, ok));
  return {
    host: `unix://${socket}`,
    calls,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
