// docker-modem logs every request it makes on the `modem` debug channel: the X-Registry-Auth
// header of a pull and the body of a create (a service's environment), past our redaction.
// Whatever DEBUG says, none of it may reach the terminal.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const dockerode = fileURLToPath(new URL("./dockerode.ts", import.meta.url));

// A fake engine on a unix socket: answers every request with an empty JSON success.
const script = (socket: string) => `
import http from "node:http";
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => { res.writeHead(200, { "content-type": "application/json" }); res.end(req.url.startsWith("/images/create") ? '{"status":"ok"}\\n' : '{"Id":"abc"}'); });
});
await new Promise((r) => server.listen(${JSON.stringify(socket)}, r));
const { default: Docker } = await import(${JSON.stringify(dockerode)});
const docker = new Docker({ socketPath: ${JSON.stringify(socket)} });
const stream = await docker.pull("reg.example/app:v2", { authconfig: { username: "ci", password: "pull-s3cret-pw" } });
stream.resume();
await new Promise((r) => stream.on("end", r));
await docker.createContainer({ Image: "app:v2", Env: ["DB_PASSWORD=env-s3cret-pw"] });
server.close();
`;

it.each(["modem", "*"])(
  "DEBUG=%s never prints a registry credential or a container's environment",
  (debug) => {
    const socket = join(mkdtempSync(join(tmpdir(), "cr-modem-")), "docker.sock");
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script(socket)], {
      env: { ...process.env, DEBUG: debug, DEBUG_COLORS: "0" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const auth = Buffer.from(JSON.stringify({ username: "ci", password: "pull-s3cret-pw" })).toString(
      "base64",
    );
    for (const secret of ["pull-s3cret-pw", "env-s3cret-pw", auth.slice(0, 24)]) {
      expect(run.stderr).not.toContain(secret);
      expect(run.stdout).not.toContain(secret);
    }
    expect(run.stderr).toContain(`DEBUG=${debug} does not print docker-modem's debug output`);
  },
);
