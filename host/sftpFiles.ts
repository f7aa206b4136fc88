// The HostFiles port over the ssh connection to the engine (SFTP): the Traefik file is read
// and replaced on the Docker host itself, so a runner needs no shared filesystem. The write
// is as atomic as the local one: a temp file in the caller's temp directory, fsync
// (fsync@openssh.com, when the server has it), then posix-rename@openssh.com over the
// target, then fsync of the directory. Plain SFTP rename refuses an existing target (OpenSSH implements it as link +
// unlink), and removing the target first would let Traefik read a missing file.
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import type { SFTPWrapper, Stats } from "ssh2";
import { type HostFiles, writeTarget } from "./hostio.js";
import type { SshTransport } from "./ssh.js";

/** SSH_FX_NO_SUCH_FILE */
const NO_SUCH_FILE = 2;

type Cb<T> = (err: Error | undefined | null, v: T) => void;
const call = <T>(fn: (cb: Cb<T>) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

const missing = (err: unknown) => (err as { code?: number }).code === NO_SUCH_FILE;

async function statOrUndefined(sftp: SFTPWrapper, path: string): Promise<Stats | undefined> {
  try {
    return await call<Stats>((cb) => sftp.stat(path, cb));
  } catch (err) {
    if (missing(err)) return undefined;
    throw err;
  }
}

/** A symbolic link's target; undefined for anything else (a file, a directory, nothing). */
async function linkOf(sftp: SFTPWrapper, path: string): Promise<string | undefined> {
  let st: Stats;
  try {
    st = await call<Stats>((cb) => sftp.lstat(path, cb));
  } catch (err) {
    if (missing(err)) return undefined;
    throw err;
  }
  return st.isSymbolicLink() ? call<string>((cb) => sftp.readlink(path, cb)) : undefined;
}

/** Creates `dir` unless it is there (another run may make it meanwhile). */
async function ensureDir(sftp: SFTPWrapper, dir: string): Promise<void> {
  if (await statOrUndefined(sftp, dir)) return;
  await call<void>((cb) => sftp.mkdir(dir, { mode: 0o755 }, (e) => cb(e, undefined))).catch(
    async (err: Error) => {
      if (!(await statOrUndefined(sftp, dir))?.isDirectory()) throw err;
    },
  );
}

interface TempOptions {
  /** The mode to leave it with: the server applies its umask at open, so it is set again. */
  mode?: number;
  /** The owner to give it, when the server lets us (best effort). */
  owner?: { uid: number; gid: number };
}

/** An unguessable name in `dir`: nothing can be planted there in advance. */
const tempName = (dir: string, path: string, suffix: string) =>
  join(dir, `${basename(path)}.${randomBytes(8).toString("hex")}.${suffix}`);

/**
 * Writes `data` to a new file `tmp`, created exclusively ("wx": SSH_FXF_EXCL, so whatever is
 * already there, a file or a planted link, is never opened), syncs it (fsync@openssh.com,
 * when the server has it), then closes it; a failed close fails the write (a flush it could
 * not do). What failed first is what is reported, and a failed temp file is removed.
 */
async function writeTemp(
  sftp: SFTPWrapper,
  tmp: string,
  data: Buffer,
  opts: TempOptions = {},
): Promise<void> {
  const { mode, owner } = opts;
  const handle = await call<Buffer>((cb) => sftp.open(tmp, "wx", mode === undefined ? {} : { mode }, cb));
  let failure: unknown;
  try {
    await call<void>((cb) => sftp.write(handle, data, 0, data.length, 0, (e) => cb(e, undefined)));
    if (mode !== undefined) await call<void>((cb) => sftp.fchmod(handle, mode, (e) => cb(e, undefined)));
    if (owner)
      await call<void>((cb) => sftp.fchown(handle, owner.uid, owner.gid, (e) => cb(e, undefined))).catch(
        () => undefined,
      );
    await call<void>((cb) => sftp.ext_openssh_fsync(handle, (e) => cb(e, undefined))).catch(() => undefined);
  } catch (err) {
    failure = err;
  }
  const closed = await call<void>((cb) => sftp.close(handle, (e) => cb(e, undefined))).then(
    () => undefined,
    (err: unknown) => err,
  );
  failure ??= closed;
  if (failure) {
    await removeTemp(sftp, tmp);
    throw failure;
  }
}

async function removeTemp(sftp: SFTPWrapper, tmp: string): Promise<void> {
  await call<void>((cb) => sftp.unlink(tmp, (e) => cb(e, undefined))).catch(() => undefined);
}

export function sftpFiles(ssh: SshTransport): HostFiles {
  return {
    where: ` on ${ssh.address}`,
    read: (path) =>
      ssh.withSftp(async (sftp) => {
        try {
          return await call<Buffer>((cb) => sftp.readFile(path, cb)).then((b) => b.toString("utf8"));
        } catch (err) {
          if (missing(err)) return undefined;
          throw err;
        }
      }),
    isDirectory: (path) =>
      ssh.withSftp(async (sftp) => (await statOrUndefined(sftp, path))?.isDirectory() ?? false),
    mkdir: (path) => ssh.withSftp((sftp) => ensureDir(sftp, path)),
    writeAtomic: (link, text, linkTempDir) =>
      ssh.withSftp(async (sftp) => {
        // Through a symbolic link: its target is replaced, from a temp file beside it.
        const { path, tempDir } = await writeTarget(link, linkTempDir, (p) => linkOf(sftp, p));
        if (tempDir !== linkTempDir) await ensureDir(sftp, tempDir);
        const st = await statOrUndefined(sftp, path);
        const tmp = tempName(tempDir, path, "tmp");
        await writeTemp(sftp, tmp, Buffer.from(text, "utf8"), {
          mode: st ? st.mode & 0o7777 : 0o644,
          ...(st ? { owner: { uid: st.uid, gid: st.gid } } : {}),
        });
        try {
          await call<void>((cb) => sftp.ext_openssh_rename(tmp, path, (e) => cb(e, undefined)));
        } catch (err) {
          await removeTemp(sftp, tmp);
          throw err;
        }
        // Durability of the rename, as locally: OpenSSH's sftp-server open()s a directory
        // read-only like a file, so fsync@openssh.com works on it; best effort elsewhere.
        await call<Buffer>((cb) => sftp.open(dirname(path), "r", cb))
          .then(async (dir) => {
            await call<void>((cb) => sftp.ext_openssh_fsync(dir, (e) => cb(e, undefined))).catch(
              () => undefined,
            );
            await call<void>((cb) => sftp.close(dir, (e) => cb(e, undefined))).catch(() => undefined);
          })
          .catch(() => undefined);
      }),
    checkWritable: (link, linkTempDir) =>
      ssh.withSftp(async (sftp) => {
        const { path, tempDir } = await writeTarget(link, linkTempDir, (p) => linkOf(sftp, p));
        if (tempDir !== linkTempDir) await ensureDir(sftp, tempDir);
        const size = (await statOrUndefined(sftp, path))?.size ?? 0;
        const tmp = tempName(tempDir, path, "check.tmp");
        await writeTemp(sftp, tmp, Buffer.alloc(Math.max(4096, 2 * size), "#"), { mode: 0o600 });
        await removeTemp(sftp, tmp);
      }),
  };
}
