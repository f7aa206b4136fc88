import { describe, expect, it } from "vitest";
import { parseHost } from "./host.js";
import { applySshConfig, type SshEndpoint } from "./sshConfig.js";

const ctx = { home: "/home/ci", localUser: "ci" };
const ssh = (url: string) => parseHost(url, undefined, "DOCKER_HOST") as SshEndpoint;

const CONFIG = `
# deploy target
Host prod
  HostName prod-1.example.com
  User deploy
  Port 2222
  IdentityFile ~/.ssh/deploy_ed25519
  IdentityFile %d/.ssh/%r@%h

Host stage
  hostname 10.0.0.7
  IdentitiesOnly yes
  IdentityFile /keys/stage

Host *
  User fallback
  Port 2200
`;

describe("applySshConfig", () => {
  it("follows a Host alias to its HostName, User, Port and IdentityFiles (tokens expanded)", () => {
    expect(applySshConfig(ssh("ssh://prod"), CONFIG, ctx)).toEqual({
      host: "prod-1.example.com",
      port: 2222,
      user: "deploy",
      alias: "prod",
      identityFiles: ["/home/ci/.ssh/deploy_ed25519", "/home/ci/.ssh/deploy@prod-1.example.com"],
    });
  });

  it("lets what the URL names win over the config, as ssh -l/-p do", () => {
    expect(applySshConfig(ssh("ssh://root@prod:2022"), CONFIG, ctx)).toMatchObject({
      host: "prod-1.example.com",
      port: 2022,
      user: "root",
    });
  });

  it("takes the first value: a later Host * does not override, but fills what is missing", () => {
    expect(applySshConfig(ssh("ssh://stage"), CONFIG, ctx)).toEqual({
      host: "10.0.0.7",
      port: 2200,
      user: "fallback",
      alias: "stage",
      identityFiles: ["/keys/stage"],
      identitiesOnly: true,
    });
  });

  it("changes nothing without a config or a matching block", () => {
    const e = ssh("ssh://root@127.0.0.1:2222");
    expect(applySshConfig(e, undefined, ctx)).toEqual({ host: "127.0.0.1", port: 2222, user: "root" });
    expect(applySshConfig(ssh("ssh://other"), "Host prod\n  HostName x\n", ctx)).toEqual({
      host: "other",
      port: 22,
    });
  });

  it("never runs Match exec", () => {
    const cfg = 'Match exec "touch /tmp/compose-roll-should-not-exist"\n  HostName evil\n';
    expect(applySshConfig(ssh("ssh://h"), cfg, ctx).host).toBe("h");
  });
});
