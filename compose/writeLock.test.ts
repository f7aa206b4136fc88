import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { withWriteLock } from "./writeLock.js";

const pause = () => new Promise((r) => setTimeout(r, 30));

/** A write-back as it is: read the file, change one line, replace the file. */
async function setLine(file: string, key: string, value: string) {
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  await pause(); // the other service's write-back runs meanwhile
  const next = [...lines.filter((l) => !l.startsWith(`${key}=`)), `${key}=${value}`];
  writeFileSync(file, `${next.join("\n")}\n`);
}

function envFile() {
  const dir = mkdtempSync(join(tmpdir(), "wlock-"));
  const file = join(dir, ".env");
  writeFileSync(file, "WEB_IMAGE=app:v1\nAPI_IMAGE=api:v1\n");
  return { dir, file };
}

describe("withWriteLock", () => {
  it("two services' write-backs to one .env: both changes land, neither reverts the other", async () => {
    const { file } = envFile();
    await Promise.all([
      withWriteLock([file], () => setLine(file, "WEB_IMAGE", "app:v2")),
      withWriteLock([file], () => setLine(file, "API_IMAGE", "api:v2")),
    ]);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^WEB_IMAGE=app:v2$/m);
    expect(text).toMatch(/^API_IMAGE=api:v2$/m);
  });

  it("removes a lock left by a process that is gone; refuses, after waiting, one a live process holds", async () => {
    const { dir, file } = envFile();
    const lock = join(dir, "..env.compose-roll.lock");
    writeFileSync(lock, `999999 ${hostname()}\n`);
    expect(await withWriteLock([file], () => "wrote", { alive: () => false })).toBe("wrote");
    writeFileSync(lock, `${process.pid} ${hostname()}\n`);
    const err = await withWriteLock([file], () => "wrote", { waitMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect(String(err)).toMatch(
      new RegExp(
        `${file.replace(/\./g, "\\.")} is being written by another compose-roll \\(pid ${process.pid}\\)`,
      ),
    );
  });
});
