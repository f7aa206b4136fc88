import { chmod, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { RefusedError } from "../controller/errors.js";
import {
  addProbe,
  checkWritable,
  hasProbe,
  listServers,
  OWNED_MARK,
  PROBE_PRIORITY,
  probeName,
  readFileText,
  readServers,
  removeProbe,
  setServers,
  tempDirOf,
  weighServers,
  writeFileAtomic,
} from "./file.js";

const USER_FILE = `# my notes about web
http:
  routers:
    web:
      rule: Host(\`example.com\`) # the public name
      entryPoints: [websecure]
      service: web
      tls: {}
  services:
    web:
      loadBalancer:
        passHostHeader: false
        healthCheck:
          path: /health
          interval: 5s
        sticky:
          cookie: { name: srv }
        servers:
          - url: http://10.0.0.5:8000 # old one
            weight: 3
          - url: http://10.0.0.6:8000
    other:
      loadBalancer:
        servers:
          - url: http://10.0.0.9:80
`;

describe("readServers", () => {
  it("lists the URLs of the service", () => {
    expect(readServers(USER_FILE, "web")).toEqual(["http://10.0.0.5:8000", "http://10.0.0.6:8000"]);
  });
  it("is empty for a missing or blank file", () => {
    expect(readServers(undefined, "web")).toEqual([]);
    expect(readServers("", "web")).toEqual([]);
    expect(readServers("# only a comment\n", "web")).toEqual([]);
  });
  it("is empty for a service without servers", () => {
    expect(readServers("http:\n  services:\n    web:\n      loadBalancer: {}\n", "web")).toEqual([]);
  });
  it("refuses invalid YAML, other structures, and files without the service", () => {
    expect(() => readServers("http: [unclosed\n", "web")).toThrow(RefusedError);
    expect(() => readServers("a: 1\n---\nb: 2\n", "web")).toThrow(/not valid YAML/);
    expect(() => readServers("- a\n- b\n", "web")).toThrow(/not a YAML mapping/);
    expect(() => readServers("http:\n  services: [web]\n", "web")).toThrow(/http.services is not a mapping/);
    expect(() => readServers(USER_FILE, "api")).toThrow(/no http.services.api.loadBalancer/);
    const weighted = "http:\n  services:\n    web:\n      weighted:\n        services: []\n";
    expect(() => readServers(weighted, "web")).toThrow(RefusedError);
    const noUrl =
      "http:\n  services:\n    web:\n      loadBalancer:\n        servers:\n          - address: x\n";
    expect(() => readServers(noUrl, "web")).toThrow(/needs a string url/);
  });
});

describe("setServers", () => {
  it("replaces the servers and keeps everything else", () => {
    const out = setServers(USER_FILE, "web", ["http://10.0.0.6:8000", "http://10.0.0.7:8000"]);
    expect(readServers(out, "web")).toEqual(["http://10.0.0.6:8000", "http://10.0.0.7:8000"]);
    const data = parse(out);
    expect(data.http.services.web.loadBalancer).toMatchObject({
      passHostHeader: false,
      healthCheck: { path: "/health", interval: "5s" },
      sticky: { cookie: { name: "srv" } },
    });
    expect(data.http.services.other.loadBalancer.servers).toEqual([{ url: "http://10.0.0.9:80" }]);
    expect(data.http.routers.web.rule).toBe("Host(`example.com`)");
    expect(out).toContain("# my notes about web");
    expect(out).toContain("# the public name");
    expect(out).not.toContain("10.0.0.5");
  });
  it("keeps a surviving server's own keys and comment", () => {
    const out = setServers(USER_FILE, "web", ["http://10.0.0.5:8000"]);
    expect(parse(out).http.services.web.loadBalancer.servers).toEqual([
      { url: "http://10.0.0.5:8000", weight: 3 },
    ]);
    expect(out).toContain("# old one");
  });
  it("adds the ownership header once", () => {
    const once = setServers(USER_FILE, "web", ["http://a:1"]);
    const twice = setServers(once, "web", ["http://b:1"]);
    expect(twice.startsWith(`# ${OWNED_MARK}`)).toBe(true);
    expect(twice.split(OWNED_MARK).length).toBe(2);
  });
  it("creates the service in a missing or blank file", () => {
    const out = setServers(undefined, "web", ["http://a:1", "http://a:1"]);
    expect(parse(out)).toEqual({
      http: { services: { web: { loadBalancer: { servers: [{ url: "http://a:1" }] } } } },
    });
  });
  it("never writes an empty list, and refuses bad URLs and bad files", () => {
    expect(() => setServers(USER_FILE, "web", [])).toThrow(/empty server list/);
    expect(() => setServers(USER_FILE, "web", ["10.0.0.5:8000"])).toThrow(RefusedError);
    expect(() => setServers(USER_FILE, "web", ["ftp://a:1"])).toThrow(/http\(s\)/);
    expect(() => setServers("http: {", "web", ["http://a:1"])).toThrow(RefusedError);
    expect(() => setServers(USER_FILE, "api", ["http://a:1"])).toThrow(RefusedError);
  });
  it("with create, adds a missing service and keeps everything else, comments included", () => {
    const out = setServers(USER_FILE, "api", ["http://demo-api-1:9000"], "f.yml", true);
    expect(out).toContain("# my notes about web");
    expect(out).toContain("# the public name");
    const data = parse(out);
    expect(data.http.services.api).toEqual({
      loadBalancer: { servers: [{ url: "http://demo-api-1:9000" }] },
    });
    expect(data.http.services.web.loadBalancer.servers).toHaveLength(2);
    expect(data.http.routers.web.rule).toBe("Host(`example.com`)");
    // Missing or empty levels too: a routers-only file, and a bare `services:`.
    const routersOnly = "# routes\nhttp:\n  routers:\n    web: { rule: PathPrefix(`/`), service: web }\n";
    for (const text of [routersOnly, "http:\n  services:\n", "tcp: {}\n"]) {
      expect(listServers(setServers(text, "web", ["http://a:1"], "f.yml", true), "web")).toEqual([
        "http://a:1",
      ]);
    }
    expect(setServers(routersOnly, "web", ["http://a:1"], "f.yml", true)).toContain("# routes");
    expect(() => setServers("http:\n  services: [web]\n", "web", ["http://a:1"], "f.yml", true)).toThrow(
      /not a mapping/,
    );
  });
});

describe("listServers", () => {
  it("is undefined where the service is not defined, the URLs where it is", () => {
    expect(listServers(undefined, "web")).toBeUndefined();
    expect(listServers("", "web")).toBeUndefined();
    expect(listServers(USER_FILE, "api")).toBeUndefined();
    expect(listServers(USER_FILE, "web")).toEqual(["http://10.0.0.5:8000", "http://10.0.0.6:8000"]);
    expect(listServers("http:\n  services:\n    web:\n      loadBalancer: {}\n", "web")).toEqual([]);
    expect(() => listServers("http: [x]\n", "web")).toThrow(/not a mapping/);
  });
});

describe("probe", () => {
  const spec = {
    service: "web",
    token: "t0k",
    url: "http://10.0.0.8:8000",
    entryPoints: ["websecure"],
    tls: true,
  };
  it("adds a header-matched router at the max user priority, a marker middleware and a one-server service", () => {
    const out = addProbe(USER_FILE, spec);
    const p = probeName("web");
    expect(p).toBe("web-compose-roll-probe");
    expect(out).toContain(`priority: ${PROBE_PRIORITY}`); // exact digits, not a rounded float
    const http = parse(out, { intAsBigInt: true }).http;
    expect(http.routers[p]).toEqual({
      rule: "Header(`X-Compose-Roll-Probe`, `t0k`)",
      priority: PROBE_PRIORITY,
      service: p,
      middlewares: [p],
      entryPoints: ["websecure"],
      tls: {},
    });
    expect(http.middlewares[p]).toEqual({
      headers: { customResponseHeaders: { "X-Compose-Roll-Probe": "t0k" } },
    });
    // Transport settings copied; health check and stickiness are not.
    expect(http.services[p]).toEqual({
      loadBalancer: { passHostHeader: false, servers: [{ url: "http://10.0.0.8:8000" }] },
    });
    expect(readServers(out, "web")).toEqual(readServers(USER_FILE, "web"));
    expect(hasProbe(out, "web")).toBe(true);
  });
  it("omits entryPoints and tls when not given, and replaces an older probe", () => {
    const first = addProbe(USER_FILE, { ...spec, token: "old" });
    const out = addProbe(first, { service: "web", token: "new", url: "http://10.0.0.8:8000" });
    const router = parse(out).http.routers[probeName("web")];
    expect(router.rule).toContain("`new`");
    expect(router.entryPoints).toBeUndefined();
    expect(router.tls).toBeUndefined();
    expect(out.match(/compose-roll-probe:/g)).toHaveLength(3);
  });
  it("works on a file that does not define the service yet (sync creating it)", () => {
    const text = "http:\n  routers:\n    web: { rule: PathPrefix(`/`), service: web }\n";
    const data = parse(addProbe(text, { service: "web", token: "t", url: "http://demo-web-1:8000" }));
    expect(data.http.services[probeName("web")]).toEqual({
      loadBalancer: { servers: [{ url: "http://demo-web-1:8000" }] },
    });
    expect(data.http.routers.web.service).toBe("web");
  });

  it("removes exactly what it added", () => {
    const fresh = setServers(USER_FILE, "web", ["http://10.0.0.5:8000"]);
    const back = removeProbe(addProbe(fresh, spec), "web");
    expect(back).toBe(fresh);
    expect(hasProbe(back, "web")).toBe(false);
    expect(removeProbe(back, "web")).toBe(back); // idempotent
  });
  it("drops sections the probe alone created", () => {
    const bare = setServers(undefined, "web", ["http://a:1"]);
    const back = removeProbe(addProbe(bare, spec), "web");
    expect(parse(back)).toEqual(parse(bare));
  });
});

describe("writeFileAtomic", () => {
  it("writes, replaces, keeps the mode, and leaves no temp file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cr-file-"));
    const path = join(dir, "compose-roll.yml");
    expect(await readFileText(path)).toBeUndefined();
    await writeFileAtomic(path, "a: 1\n");
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    await chmod(path, 0o600);
    await writeFileAtomic(path, "a: 2\n");
    expect(await readFile(path, "utf8")).toBe("a: 2\n");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // Temp files live in an unwatched subdirectory under a name Traefik skips.
    expect(await readdir(dir)).toEqual([".compose-roll-tmp", "compose-roll.yml"]);
    expect(await readdir(tempDirOf(path))).toEqual([]);
  });
  it("reports a directory that is not there as a RoutingError", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cr-file-"));
    await writeFile(join(dir, "plain"), "");
    await expect(writeFileAtomic(join(dir, "plain", "x.yml"), "a: 1\n")).rejects.toThrow(/could not write/);
  });
});

describe("checkWritable", () => {
  it("writes a test file and leaves nothing behind; refuses where it cannot write", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cr-file-"));
    const path = join(dir, "web.yml");
    await writeFile(path, "a: 1\n");
    await checkWritable(path);
    expect(await readdir(dir)).toEqual([".compose-roll-tmp", "web.yml"]);
    expect(await readdir(tempDirOf(path))).toEqual([]);
    await writeFile(join(dir, "plain"), "");
    await expect(checkWritable(join(dir, "plain", "x.yml"))).rejects.toThrow(/ENOTDIR|EEXIST/);
  });
});

describe("weighServers (a canary's share)", () => {
  const servers = (text: string) =>
    (parse(text) as { http: { services: { web: { loadBalancer: { servers: unknown[] } } } } }).http.services
      .web.loadBalancer.servers;

  it("sets the weights it is given and takes every weight off without them", () => {
    const text = setServers(undefined, "web", ["http://a:1", "http://b:1", "http://n:1"]);
    const weighted = weighServers(text, "web", { "http://a:1": 90, "http://b:1": 90, "http://n:1": 20 });
    expect(servers(weighted)).toEqual([
      { url: "http://a:1", weight: 90 },
      { url: "http://b:1", weight: 90 },
      { url: "http://n:1", weight: 20 },
    ]);
    expect(servers(weighServers(weighted, "web", undefined))).toEqual([
      { url: "http://a:1" },
      { url: "http://b:1" },
      { url: "http://n:1" },
    ]);
  });
});
