// The local end of the ssh transport for docker CLI subprocesses: a private unix socket whose
// every connection is piped to a fresh dial-stdio channel, so `docker compose` reaches the same
// engine over the same checked ssh connection. Otherwise compose would run the system ssh,
// with its own known_hosts and keys, and dial DOCKER_HOST several times even for `config`,
// paying a full ssh handshake each time.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";

export interface LocalSocket {
  /** Where DOCKER_HOST=unix://… points. */
  readonly path: string;
  /** Stops listening and removes the socket's private directory. */
  close(): void;
}

/** Listens on a new socket in a private temporary directory; `dial` opens each remote end. */
export async function serveLocalSocket(dial: () => Promise<Duplex>): Promise<LocalSocket> {
  const dir = mkdtempSync(join(tmpdir(), "compose-roll-ssh-"));
  const path = join(dir, "docker.sock");
  const server = createServer((local) => {
    // compose dials and may hang up before the channel is open: then close the channel at
    // once, or it would stay open (and keep the ssh connection, and compose-roll, alive).
    let remote: Duplex | undefined;
    let gone = false;
    local.on("error", () => local.destroy());
    local.on("close", () => {
      gone = true;
      remote?.destroy();
    });
    dial().then(
      (r) => {
        remote = r;
        if (gone) return void r.destroy();
        r.on("error", () => local.destroy());
        r.on("close", () => local.destroy());
        local.pipe(r).pipe(local);
      },
      () => local.destroy(),
    );
  });
  await new Promise<void>((ok, fail) => server.once("error", fail).listen(path, ok));
  server.unref(); // a waiting listener must not keep compose-roll alive
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return {
    path,
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
