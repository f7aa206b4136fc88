// dockerode, loaded without what compose-roll never uses. At load time dockerode requires
// @grpc/grpc-js and @grpc/proto-loader (BuildKit sessions, for image builds) and docker-modem
// requires ssh2 (its own ssh:// transport; compose-roll dials ssh itself, host/ssh.ts, and
// hands dockerode an agent), and dockerode tar-fs (it packs a build context, with
// tar-stream): a large share of every command's start time and memory, for code it never
// runs (docs/evidence.md has the figures). Empty modules in require's cache stand in for
// them; anything that did reach one would fail with the stub's message, not silently.
// docker-modem also requires node:https and dockerode node:zlib (for image builds) at load
// time: https brings tls and OpenSSL's TLS code, which a unix:// or http tcp:// engine never
// uses. While dockerode loads, those two resolve to stand-ins that load the
// real module at their first use (a tls tcp:// engine), so nothing changes but when.
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
stub(fromDockerode.resolve, "tar-fs", { pack: unused("image build contexts") });

/** Builtin `name`, loaded when a property of it is first read. */
function lazyBuiltin(name: string): object {
  let real: object | undefined;
  const load = () => {
    real ??= process.getBuiltinModule(`node:${name}`) as object;
    return real;
  };
  return new Proxy(
    {},
    {
      get: (_, key) => Reflect.get(load(), key),
      has: (_, key) => Reflect.has(load(), key),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), key);
        // A proxy may not report a property of its (empty) target as non-configurable.
        return d && { ...d, configurable: true };
      },
    },
  );
}

// require.cache is consulted before builtins for a name without "node:"; the entries live only
// while dockerode loads, so no other module's require("https") sees them.
const LAZY = ["https", "zlib"].filter((name) => !require.cache[name]);
for (const name of LAZY) {
  const m = new Module(name);
  m.loaded = true;
  m.exports = lazyBuiltin(name);
  require.cache[name] = m;
}
let loaded: typeof Dockerode;
try {
  loaded = require("dockerode") as typeof Dockerode;
} finally {
  for (const name of LAZY) delete require.cache[name];
}
silenceModemDebug();
const Docker = loaded;
export default Docker;

/**
 * docker-modem logs each request on the `modem` debug channel (DEBUG=modem, DEBUG=*): a
 * pull's X-Registry-Auth header and a create's body, a service's environment, unredacted.
 * The channel is switched off whatever DEBUG says; -v logs requests through the redacting logger.
 */
function silenceModemDebug(): void {
  let debug: { enabled(name: string): boolean; disable(): string; enable(namespaces: string): void };
  try {
    debug = fromModem("debug");
  } catch {
    return; // a docker-modem release without it
  }
  if (!debug.enabled("modem")) return;
  const asked = process.env.DEBUG ?? "";
  debug.enable(`${debug.disable()},-modem`);
  process.stderr.write(
    `compose-roll: warning: DEBUG=${asked} does not print docker-modem's debug output (registry credentials, container environments); use -v\n`,
  );
}
