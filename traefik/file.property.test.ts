// Round-trip properties of the owned Traefik file: what setServers writes, readServers reads
// back; a probe added and removed leaves the file as it was; and everything compose-roll
// does not manage (other routers, services, middlewares, tcp, the service's own
// loadBalancer options, the user's comments) survives every rewrite.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { addProbe, hasProbe, listServers, readServers, removeProbe, setServers } from "./file.js";

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const url = fc
  .tuple(
    fc.constantFrom("http", "https"),
    fc.oneof(fc.stringMatching(/^[a-f0-9]{12}$/), fc.ipV4(), fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/)),
    fc.integer({ min: 1, max: 65535 }),
  )
  .map(([scheme, host, port]) => `${scheme}://${host}:${port}`);
const urls = fc.uniqueArray(url, { minLength: 1, maxLength: 6 });

/** A user's file: foreign objects around (and inside) the service compose-roll manages. */
const userFile = fc
  .record({
    service: name,
    other: name,
    lbExtra: fc.record(
      {
        passHostHeader: fc.boolean(),
        healthCheck: fc.record({
          path: fc.constantFrom("/health", "/"),
          interval: fc.constantFrom("5s", "30s"),
        }),
        serversTransport: fc.constantFrom("slow@file", "insecure"),
      },
      { requiredKeys: [] },
    ),
    servers: fc.option(urls, { nil: undefined }),
    tcp: fc.boolean(),
    comment: fc.stringMatching(/^[a-zA-Z0-9 .,:]{1,30}$/),
  })
  .filter((f) => f.service !== f.other);
type UserFile = typeof userFile extends fc.Arbitrary<infer T> ? T : never;

function render(f: UserFile): string {
  const doc: Record<string, unknown> = {
    http: {
      routers: { [f.other]: { rule: "Host(`example.com`)", service: f.service, entryPoints: ["web"] } },
      middlewares: { [`${f.other}-auth`]: { basicAuth: { users: ["u:$apr1$x$y"] } } },
      services: {
        [f.service]: {
          loadBalancer: {
            ...f.lbExtra,
            ...(f.servers ? { servers: f.servers.map((u) => ({ url: u })) } : {}),
          },
        },
        [f.other]: { loadBalancer: { servers: [{ url: "http://static:80" }] } },
      },
    },
    ...(f.tcp ? { tcp: { routers: { db: { rule: "HostSNI(`*`)", service: "db" } } } } : {}),
  };
  return `# ${f.comment}\n${stringify(doc)}# trailing note\n`;
}

/** The document minus the servers of `service`: what must never change. */
function foreign(text: string, service: string): unknown {
  const doc = parse(text) as {
    http: { services: Record<string, { loadBalancer: Record<string, unknown> }> };
  };
  delete doc.http.services[service]?.loadBalancer.servers;
  return doc;
}

describe("the owned Traefik file", () => {
  it("reads back exactly the servers written, in order, whatever was there", () => {
    fc.assert(
      fc.property(userFile, urls, (f, want) => {
        const after = setServers(render(f), f.service, want, "web.yml");
        expect(readServers(after, f.service, "web.yml")).toEqual(want);
        expect(listServers(after, f.service)).toEqual(want);
        // Rewriting with the same list is a no-op on the text.
        expect(setServers(after, f.service, want)).toBe(after);
      }),
      { numRuns: 150 },
    );
  });

  it("keeps every foreign key and the user's comments", () => {
    fc.assert(
      fc.property(userFile, urls, (f, want) => {
        const before = render(f);
        const after = setServers(before, f.service, want);
        expect(foreign(after, f.service)).toEqual(foreign(before, f.service));
        expect(after).toContain(`# ${f.comment}`);
        expect(after).toContain("# trailing note");
      }),
      { numRuns: 150 },
    );
  });

  it("a probe added then removed leaves the same document, and never touches the real servers", () => {
    fc.assert(
      fc.property(userFile, urls, url, fc.stringMatching(/^[a-f0-9]{16}$/), (f, want, probed, token) => {
        const base = setServers(render(f), f.service, want);
        const probing = addProbe(base, { service: f.service, token, url: probed });
        expect(hasProbe(probing, f.service)).toBe(true);
        expect(readServers(probing, f.service)).toEqual(want);
        const back = removeProbe(probing, f.service);
        expect(hasProbe(back, f.service)).toBe(false);
        expect(parse(back)).toEqual(parse(base));
        expect(back).toContain(`# ${f.comment}`);
      }),
      { numRuns: 150 },
    );
  });

  it("takes a container ID of only digits as the name it is, not as an IPv4 number", () => {
    // About one container in 280 has such a short ID; new URL() refused or rewrote them.
    const ids = ["http://123456789012:8000", "http://000000001234:8000", "http://000800000000:1"];
    expect(readServers(setServers(undefined, "web", ids), "web")).toEqual(ids);
  });

  it("a fresh file holds exactly the service, and reads back", () => {
    fc.assert(
      fc.property(name, urls, (service, want) => {
        const text = setServers(undefined, service, want);
        expect(parse(text)).toEqual({
          http: { services: { [service]: { loadBalancer: { servers: want.map((u) => ({ url: u })) } } } },
        });
        expect(readServers(text, service)).toEqual(want);
      }),
    );
  });
});
