// The Traefik file is replaced atomically and keeps what the user set on it: its mode (past
// the umask) and its owner (a deploy user's file written by root stays the deploy user's).
import { chmod, chown, mkdtemp, open, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { tempDirOf, writeFileAtomic } from "./write.js";

const root = process.getuid?.() === 0;

it("keeps the file's mode past the umask, and its owner", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cr-write-"));
  const path = join(dir, "web.yml");
  await writeFile(path, "a: 1\n");
  await chmod(path, 0o664); // the default umask (022) would drop the g+w of a fresh file
  if (root) await chown(path, 1234, 5678);
  await writeFileAtomic(path, "a: 2\n");
  const st = await stat(path);
  expect(st.mode & 0o7777).toBe(0o664);
  if (root) expect([st.uid, st.gid]).toEqual([1234, 5678]);
});

it("replaces the file by rename: a reader sees the old text or the new, never a mix", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cr-write-"));
  const path = join(dir, "web.yml");
  const old = `${"old: 1\n".repeat(10_000)}`;
  await writeFile(path, old);
  const ino = (await stat(path)).ino;
  const reader = await open(path, "r"); // what Traefik holds while we write
  await writeFileAtomic(path, "new: 1\n");
  expect((await reader.readFile("utf8")).length).toBe(old.length);
  await reader.close();
  expect((await stat(path)).ino).not.toBe(ino);
  expect(await readdir(tempDirOf(path))).toEqual([]);
});

it("creates a missing file 0644 whatever the umask", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cr-write-"));
  const path = join(dir, "web.yml");
  const umask = process.umask(0o077);
  try {
    await writeFileAtomic(path, "a: 1\n");
  } finally {
    process.umask(umask);
  }
  expect((await stat(path)).mode & 0o777).toBe(0o644);
});
