// The debug log censors a secret wherever it sits in a logged object, at any depth, under any
// key that names one (any case), and a URL's user:password in any string.
import { Writable } from "node:stream";
import fc from "fast-check";
import { expect, it } from "vitest";
import { logger } from "./log.js";

function capture() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: logger(true, dest as never), text: () => lines.join("") };
}

it("censors environments and credentials wherever a logged object holds them", async () => {
  const { log, text } = capture();
  const secret = "hunter2-s3cret";
  log.debug({ Env: [`API_TOKEN=${secret}`] }, "top level");
  log.debug({ container: { Config: { Env: [`API_TOKEN=${secret}`], Image: "app:v2" } } }, "inspect result");
  log.debug({ body: { env: { API_TOKEN: secret } } }, "create body");
  log.debug(
    { authconfig: { username: "ci", password: secret, auth: secret, identitytoken: secret } },
    "pull",
  );
  log.debug({ req: { headers: { authorization: `Bearer ${secret}`, "X-Registry-Auth": secret } } }, "http");
  await new Promise((r) => setImmediate(r));
  expect(text()).not.toContain(secret);
  // What is not secret stays readable.
  expect(text()).toContain('"Image":"app:v2"');
  expect(text()).toContain('"username":"ci"');
  expect(text().match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(8);
});

it("logs nothing below warn without -v", async () => {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  logger(false, dest as never).debug({ a: 1 }, "hidden");
  await new Promise((r) => setImmediate(r));
  expect(lines).toEqual([]);
});

const SECRET = "zq-s3cret-value-91";
const secretKeys = fc.constantFrom(
  "Secret",
  "client_secret",
  "password",
  "DB_PASSWORD",
  "apiToken",
  "access_token",
  "privateKey",
  "ssh_key",
  "key",
  "tlsCert",
  "certificate",
  "credentials",
  "Authorization",
  "X-Registry-Auth",
  "passphrase",
  "Env",
  "cookie",
);
const plainKey = fc.constantFrom("Image", "name", "labels", "Config", "HostConfig", "items", "data", "x");
const plainValue = fc.oneof(fc.integer(), fc.boolean(), fc.constantFrom("app:v2", "web", ""));

/** An object with `leaf` at a random path, `depth` levels down, through objects and arrays. */
const nested = (leaf: fc.Arbitrary<[string, unknown]>) =>
  fc
    .tuple(
      fc.array(fc.tuple(plainKey, fc.boolean()), { minLength: 0, maxLength: 9 }),
      leaf,
      fc.dictionary(plainKey, plainValue, { maxKeys: 3 }),
    )
    .map(([path, [key, value], siblings]) => {
      let node: unknown = { ...siblings, [key]: value };
      for (const [k, inArray] of path.reverse()) node = { ...siblings, [k]: inArray ? [node] : node };
      return node as Record<string, unknown>;
    });

it("censors a secret under a secret's key at any depth", async () => {
  const leaf = fc.tuple(
    secretKeys,
    fc.constantFrom<unknown>(SECRET, [`A=${SECRET}`], { value: SECRET }, `Bearer ${SECRET}`),
  );
  await fc.assert(
    fc.asyncProperty(nested(leaf), async (obj) => {
      const { log, text } = capture();
      log.debug(obj, "object");
      await new Promise((r) => setImmediate(r));
      expect(text()).not.toContain(SECRET);
      expect(text()).toContain("[redacted]");
    }),
  );
});

it("scrubs a URL's credentials in any string, at any depth and in the message, and keeps the rest", async () => {
  const url = fc.constantFrom(
    `https://ci:${SECRET}@registry.example/v2/`,
    `tcp://admin:${SECRET}@10.0.0.5:2375`,
    `see http://${SECRET}@traefik:8080/api for details`,
  );
  await fc.assert(
    fc.asyncProperty(nested(fc.tuple(plainKey, url)), url, async (obj, msg) => {
      const { log, text } = capture();
      log.debug(obj, msg);
      await new Promise((r) => setImmediate(r));
      expect(text()).not.toContain(SECRET);
      expect(text()).toMatch(/registry\.example|10\.0\.0\.5|traefik:8080/);
    }),
  );
});

it("does not mistake ordinary keys for secrets", async () => {
  const { log, text } = capture();
  log.debug({ a: { b: { c: { d: { e: { Image: "app:v2", envFiles: [".env"], keyboard: 1 } } } } } }, "plain");
  await new Promise((r) => setImmediate(r));
  expect(text()).toContain('"Image":"app:v2"');
  expect(text()).toContain('"envFiles":[".env"]');
  expect(text()).toContain('"keyboard":1');
});
