import { Writable } from "node:stream";
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
