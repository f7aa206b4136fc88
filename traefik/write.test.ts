// The Traefik file is replaced atomically and keeps what the user set on it: its mode (past
// the umask) and its owner (a deploy user's file written by root stays the deploy user's).
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkWritable, tempDirOf, writeFileAtomic } from "./write.js";

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

describe("a Traefik file that is a symbolic link", () => {
  // A file kept elsewhere (a config checkout, a mounted volume) and linked into Traefik's
  // directory: the link stays, and the file it points at is what gets replaced, atomically.
  async function linked(target = "../shared/web.yml") {
    const root = await mkdtemp(join(tmpdir(), "cr-write-link-"));
    await mkdir(join(root, "dynamic"));
    await mkdir(join(root, "shared"));
    const real = join(root, "shared", "web.yml");
    const link = join(root, "dynamic", "web.yml");
    await symlink(target, link);
    return { root, real, link, target };
  }

  it("writes through the link: the link stays, its target is replaced by rename", async () => {
    const { root, real, link, target } = await linked();
    await writeFile(real, "a: 1\n");
    await chmod(real, 0o640);
    const ino = (await stat(real)).ino;
    await writeFileAtomic(link, "a: 2\n");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(target);
    expect(await readFile(real, "utf8")).toBe("a: 2\n");
    expect((await stat(real)).ino).not.toBe(ino);
    expect((await stat(real)).mode & 0o7777).toBe(0o640);
    // The temp file went beside the target (same filesystem as it), and is gone.
    expect(await readdir(tempDirOf(real))).toEqual([]);
    expect(await readdir(join(root, "dynamic"))).toEqual(["web.yml"]);
  });

  it("follows a chain of links, and creates the file a dangling one names", async () => {
    const { root, real, link } = await linked("web-current.yml");
    await symlink("../shared/web.yml", join(root, "dynamic", "web-current.yml"));
    await writeFileAtomic(link, "a: 1\n");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await lstat(join(root, "dynamic", "web-current.yml"))).isSymbolicLink()).toBe(true);
    expect(await readFile(real, "utf8")).toBe("a: 1\n");
    expect((await stat(real)).mode & 0o777).toBe(0o644);
  });

  it("checks that the target's directory is writable, where the write will land", async () => {
    const { real, link } = await linked();
    await writeFile(real, "a: 1\n");
    await checkWritable(link);
    expect(await readdir(tempDirOf(real))).toEqual([]);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
  });
});

it("never opens, truncates or removes a file already at a check's temp name", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cr-write-"));
  const path = join(dir, "web.yml");
  await writeFile(path, "a: 1\n");
  await mkdir(tempDirOf(path));
  const victim = join(dir, "secret");
  await writeFile(victim, "root only\n", { mode: 0o600 });
  // What the check's name used to be: guessable, so a link or a file could wait there.
  const planted = join(tempDirOf(path), `web.yml.${process.pid}.check.tmp`);
  await symlink(victim, planted);
  await checkWritable(path);
  expect(await readFile(victim, "utf8")).toBe("root only\n");
  expect((await lstat(planted)).isSymbolicLink()).toBe(true);
  expect(await readdir(tempDirOf(path))).toEqual([`web.yml.${process.pid}.check.tmp`]);
});
