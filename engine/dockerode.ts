// dockerode, loaded without what compose-roll never uses. At load time dockerode requires
// @grpc/grpc-js and @grpc/proto-loader (BuildKit sessions, for image builds) and docker-modem
// requires ssh2 (its own ssh:// transport; compose-roll dials ssh itself, engine/ssh.ts, and
// hands dockerode an agent). Together +19 MB RSS and ~0.2 s on every start (issue 12: a
// command starts in ≤ 300 ms and < 80 MB). Empty modules in require's cache stand in for
// them; anything that did reach one would fail with the stub's message, not silently.
import Module, { createRequire } from "node:module";
import type Dockerode from "dockerode";

const require = createRequire(import.meta.url);
const fromDockerode = createRequire(require.resolve("dockerode"));
const fromModem = createRequire(fromDockerode.resolve("docker-modem"));

function stub(resolve: NodeJS.RequireResolve, name: string, exports: unknown): void {
  let path: string;
  try {
    path = resolve(name);
  } catch {
    return; // a dockerode release without it: nothing to keep out
  }
  if (require.cache[path]) return;
  const m = new Module(path);
  m.filename = path;
  m.loaded = true;
  m.exports = exports;
  require.cache[path] = m;
}

const unused = (what: string) => () => {
  throw new Error(`compose-roll does not load ${what} (engine/dockerode.ts)`);
};
stub(fromDockerode.resolve, "@grpc/grpc-js", {});
stub(fromDockerode.resolve, "@grpc/proto-loader", { loadSync: unused("BuildKit sessions") });
stub(fromModem.resolve, "./ssh", unused("docker-modem's ssh transport"));

const Docker = require("dockerode") as typeof Dockerode;
export default Docker;
