// A private registry for pull tests: Debian's docker-registry (CNCF distribution) on a free
// 127.0.0.1 port, basic auth from a bcrypt htpasswd, storage in its own temp dir. The
// daemon treats 127.0.0.0/8 as an insecure (plain http) registry by default, so no daemon
// configuration is needed. Installed by scripts/provision.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { freePort } from "./stack.js";

export interface Registry {
  /** "127.0.0.1:<port>": the registry part of refs pushed here. */
  host: string;
  user: string;
  password: string;
  /** A DOCKER_CONFIG directory whose config.json logs in as `user` with `password`. */
  dockerConfig(password?: string): string;
  /** Tags a local image as `<host>/<repo>`, pushes it, and removes that local tag again. */
  push(localRef: string, repo: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startRegistry(user = "deployer", password = "s3cret-pw"): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), "cr-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  // distribution accepts bcrypt entries only.
  writeFileSync(join(dir, "htpasswd"), execFileSync("htpasswd", ["-Bbn", user, password]));
  writeFileSync(
    join(dir, "config.yml"),
    [
      "version: 0.1",
      "log: { level: warn, accesslog: { disabled: true } }",
      `storage: { filesystem: { rootdirectory: ${join(dir, "data")} }, delete: { enabled: true } }`,
      `http: { addr: "${host}" }`,
      `auth: { htpasswd: { realm: compose-roll-test, path: ${join(dir, "htpasswd")} } }`,
      "",
    ].join("\n"),
  );
  let log = "";
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => {
    log += d;
  });
  child.stderr?.on("data", (d: Buffer) => {
    log += d;
  });
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  await waitUp(`http://${host}/v2/`, child, () => log);

  const dockerConfig = (pw = password): string => {
    const cfg = mkdtempSync(join(dir, "docker-config-"));
    const auth = Buffer.from(`${user}:${pw}`).toString("base64");
    writeFileSync(join(cfg, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }));
    return cfg;
  };

  const docker = new Docker();
  return {
    host,
    user,
    password,
    dockerConfig,
    push: async (localRef, repo) => {
      const [name, tag = "latest"] = repo.split(":");
      const ref = `${host}/${name}:${tag}`;
      await docker.getImage(localRef).tag({ repo: `${host}/${name}`, tag });
      const stream = await docker
        .getImage(ref)
        .push({ authconfig: { username: user, password, serveraddress: host } } as Docker.ImagePushOptions);
      const lines = await new Promise<{ error?: string }[]>((ok, fail) =>
        docker.modem.followProgress(stream, (err: Error | null, res: { error?: string }[]) =>
          err ? fail(err) : ok(res),
        ),
      );
      const error = lines.find((l) => l.error)?.error;
      if (error) throw new Error(`push ${ref}: ${error}`);
      await docker.getImage(ref).remove();
      return ref;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Until the registry answers (401 without credentials is an answer), or it died. */
async function waitUp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < 15_000) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    try {
      const res = await fetch(url);
      if (res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`docker-registry did not answer on ${url} within 15s: ${log()}`);
}
