// Atomic writes of the Traefik file on the runner's own filesystem: the local HostFiles
// adapter (host/hostio.ts). Over ssh the same port is served by SFTP (host/sftpFiles.ts).
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, open, readFile, readlink, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { RoutingError } from "../controller/errors.js";
import { type HostFiles, writeTarget } from "../host/hostio.js";

/** The file's text, or undefined when it does not exist. */
export async function readFileText(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
}

/**
 * Where temp files go: a subdirectory of the watched one. Same filesystem (so rename is
 * atomic, even when the directory is a bind mount), but NOT watched: Traefik's directory
 * watcher is not recursive, and EVERY event in the watched directory makes the file
 * provider re-read it and send a (possibly unchanged) config through the 2 s throttle.
 * A temp file next to the real one would cost a throttle window per write (its create event
 * uses up the window, so the rename waits for the next one). Traefik does recurse into
 * subdirectories when loading, so the directory stays world-readable and holds only names
 * it skips (not .yml/.yaml/.toml).
 */
export const tempDirOf = (path: string): string => join(dirname(path), ".compose-roll-tmp");

/** Creates the temp directory now (its creation is itself one watcher event). */
export async function ensureTempDir(path: string): Promise<void> {
  await mkdir(tempDirOf(path), { recursive: true, mode: 0o755 });
}

/**
 * Before a rollout: proves a rewrite of `path` can land, by writing (and fsyncing, then
 * removing) a temp file twice its size in the temp directory. A read-only mount or a full
 * disk then refuses the rollout before anything changes, instead of failing its first write
 * with a new container booted, or its restore's with servers half moved.
 */
export async function checkWritable(link: string): Promise<void> {
  const { path, tempDir } = await writeTarget(link, tempDirOf(link), linkOf);
  await mkdir(tempDir, { recursive: true, mode: 0o755 });
  const size = await stat(path).then(
    (st) => st.size,
    () => 0,
  );
  // A new file under an unguessable name, opened exclusively: whatever waits in the temp
  // directory (a file, a planted link) is never opened, truncated or removed.
  const tmp = join(tempDir, `${basename(path)}.${randomBytes(8).toString("hex")}.check.tmp`);
  const fh = await open(tmp, CREATE_NEW, 0o600);
  try {
    try {
      await fh.writeFile(Buffer.alloc(Math.max(4096, 2 * size), "#"));
      await fh.sync();
    } finally {
      await fh.close();
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** O_EXCL (which implies not following a link at the name) and O_NOFOLLOW, spelled out. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Replaces `path` atomically: temp file, fsync, rename over `path`, fsync the directory, so
 * Traefik never reads a half-written file (which could parse to fewer servers). Keeps the
 * file's mode (and owner, when allowed). A symbolic link is kept: its target is replaced,
 * from a temp file beside it (writeTarget).
 */
export async function writeFileAtomic(
  link: string,
  text: string,
  linkTempDir = tempDirOf(link),
): Promise<void> {
  const { path, tempDir } = await writeTarget(link, linkTempDir, linkOf).catch((err: unknown) => {
    throw wrapWrite(link, err);
  });
  const dir = dirname(path);
  const tmp = join(tempDir, `${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
  let mode = 0o644;
  let owner: { uid: number; gid: number } | undefined;
  try {
    const st = await stat(path);
    mode = st.mode & 0o7777;
    owner = { uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw wrapWrite(link, err, dir);
  }
  try {
    await mkdir(tempDir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw wrapWrite(link, err, dir);
  }
  const fh = await open(tmp, CREATE_NEW, mode).catch((err: unknown) => {
    throw wrapWrite(link, err, dir);
  });
  try {
    try {
      await fh.writeFile(text, "utf8");
      await fh.chmod(mode); // open() applies the umask; the original mode must win
      if (owner) await fh.chown(owner.uid, owner.gid).catch(() => undefined);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw wrapWrite(link, err, dir);
  }
  // Durability of the rename itself; not every filesystem allows fsync on a directory.
  const dh = await open(dir, "r").catch(() => undefined);
  await dh?.sync().catch(() => undefined);
  await dh?.close();
}

/** A symbolic link's target; undefined for anything else (a file, a directory, nothing). */
async function linkOf(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
    throw err;
  });
  return st?.isSymbolicLink() ? readlink(path) : undefined;
}

/** The runner's filesystem: what compose-roll always used (unix:// and tcp:// engines). */
export const localFiles: HostFiles = {
  where: "",
  read: readFileText,
  isDirectory: async (path) => (await stat(path).catch(() => undefined))?.isDirectory() ?? false,
  mkdir: async (path) => {
    await mkdir(path, { recursive: true, mode: 0o755 });
  },
  writeAtomic: writeFileAtomic,
  checkWritable: (path) => checkWritable(path),
};

/** `dir`: where the write lands (a symbolic link's target's directory). */
function wrapWrite(path: string, err: unknown, dir = dirname(path)): RoutingError {
  const msg = err instanceof Error ? err.message : String(err);
  return new RoutingError(`could not write ${path}: ${msg}`, `check that ${dir} is writable`);
}
