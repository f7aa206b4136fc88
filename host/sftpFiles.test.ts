// sftpFiles over a stand-in for ssh2's SFTP client that does each request on a real temp
// directory, with the semantics OpenSSH's sftp-server gives them (open flags, umask at open,
// posix-rename over an existing file, status 2 for a missing path).
import * as fs from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SFTPWrapper } from "ssh2";
import { describe, expect, it } from "vitest";
import { sftpFiles } from "./sftpFiles.js";
import type { SshTransport } from "./ssh.js";

type Cb = (err: Error | undefined, v?: unknown) => void;

function sftpError(err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  // What ssh2 hands its callbacks: the SFTP status code, not errno.
  return Object.assign(new Error(e.message), { code: e.code === "ENOENT" ? 2 : 4 });
}

/** Requests the server fails (after doing them, as a close whose flush fails has still closed). */
type Failures = Partial<Record<"write" | "close", string>>;

function fakeSftp(failures: Failures = {}) {
  const handles = new Map<string, number>();
  let seq = 0;
  const handleOf = (h: Buffer) => handles.get(h.toString()) as number;
  const run = (cb: Cb, fn: () => unknown, name?: keyof Failures) => {
    let v: unknown;
    try {
      v = fn();
    } catch (err) {
      return void setImmediate(() => cb(sftpError(err)));
    }
    const failure = name && failures[name];
    if (failure) return void setImmediate(() => cb(Object.assign(new Error(failure), { code: 4 })));
    setImmediate(() => cb(undefined, v));
  };
  const FLAGS: Record<string, string> = { r: "r", w: "w", wx: "wx" };
  const sftp = {
    stat: (p: string, cb: Cb) => run(cb, () => fs.statSync(p)),
    lstat: (p: string, cb: Cb) => run(cb, () => fs.lstatSync(p)),
    readlink: (p: string, cb: Cb) => run(cb, () => fs.readlinkSync(p)),
    readFile: (p: string, cb: Cb) => run(cb, () => fs.readFileSync(p)),
    mkdir: (p: string, attrs: { mode: number }, cb: Cb) => run(cb, () => fs.mkdirSync(p, attrs.mode)),
    open: (p: string, flags: string, attrs: { mode?: number } | Cb, cb?: Cb) => {
      const done = (typeof attrs === "function" ? attrs : cb) as Cb;
      const mode = typeof attrs === "function" ? 0o666 : (attrs.mode ?? 0o666);
      run(done, () => {
        const fd = fs.openSync(p, FLAGS[flags] ?? flags, mode);
        const h = Buffer.from(String(++seq));
        handles.set(h.toString(), fd);
        return h;
      });
    },
    write: (h: Buffer, data: Buffer, off: number, len: number, pos: number, cb: Cb) =>
      run(cb, () => fs.writeSync(handleOf(h), data, off, len, pos), "write"),
    fchmod: (h: Buffer, mode: number, cb: Cb) => run(cb, () => fs.fchmodSync(handleOf(h), mode)),
    fchown: (h: Buffer, uid: number, gid: number, cb: Cb) =>
      run(cb, () => fs.fchownSync(handleOf(h), uid, gid)),
    ext_openssh_fsync: (h: Buffer, cb: Cb) => run(cb, () => fs.fsyncSync(handleOf(h))),
    close: (h: Buffer, cb: Cb) =>
      run(
        cb,
        () => {
          fs.closeSync(handleOf(h));
          handles.delete(h.toString());
        },
        "close",
      ),
    ext_openssh_rename: (from: string, to: string, cb: Cb) => run(cb, () => fs.renameSync(from, to)),
    unlink: (p: string, cb: Cb) => run(cb, () => fs.unlinkSync(p)),
  };
  return { sftp: sftp as unknown as SFTPWrapper, open: () => handles.size };
}

function files(failures: Failures = {}) {
  const fake = fakeSftp(failures);
  const ssh = {
    address: "ssh://deploy@docker-host:22",
    withSftp: <T>(fn: (s: SFTPWrapper) => Promise<T>) => fn(fake.sftp),
  } as unknown as SshTransport;
  return { files: sftpFiles(ssh), openHandles: fake.open };
}

async function traefikDir() {
  const root = await mkdtemp(join(tmpdir(), "cr-sftp-"));
  const dynamic = join(root, "dynamic");
  const tmp = join(dynamic, ".compose-roll-tmp");
  fs.mkdirSync(tmp, { recursive: true });
  return { root, dynamic, tmp };
}

describe("sftpFiles", () => {
  it("replaces a file by rename, keeping its mode, and leaves no temp file or handle", async () => {
    const { dynamic, tmp } = await traefikDir();
    const { files: f, openHandles } = files();
    const path = join(dynamic, "web.yml");
    fs.writeFileSync(path, "a: 1\n");
    fs.chmodSync(path, 0o640);
    const ino = fs.statSync(path).ino;
    await f.writeAtomic(path, "a: 2\n", tmp);
    expect(await f.read(path)).toBe("a: 2\n");
    expect(fs.statSync(path).ino).not.toBe(ino);
    expect(fs.statSync(path).mode & 0o7777).toBe(0o640);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(openHandles()).toBe(0);
  });

  it("checks a write twice the file's size can land, leaving nothing behind", async () => {
    const { dynamic, tmp } = await traefikDir();
    const { files: f, openHandles } = files();
    const path = join(dynamic, "web.yml");
    fs.writeFileSync(path, "a: 1\n");
    await f.checkWritable(path, tmp);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(openHandles()).toBe(0);
    await expect(f.checkWritable(path, join(dynamic, "nowhere"))).rejects.toThrow();
    expect(openHandles()).toBe(0);
  });

  it("fails a check whose temp file does not close cleanly (a deferred ENOSPC), and removes it", async () => {
    const { dynamic, tmp } = await traefikDir();
    const { files: f, openHandles } = files({ close: "Failure: no space left on device" });
    const path = join(dynamic, "web.yml");
    fs.writeFileSync(path, "a: 1\n");
    await expect(f.checkWritable(path, tmp)).rejects.toThrow(/no space left/);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(openHandles()).toBe(0);
  });

  it("reports why a write failed, not the close after it; the file is left as it was", async () => {
    const { dynamic, tmp } = await traefikDir();
    const { files: f } = files({ write: "Failure: quota exceeded", close: "Failure: bad handle" });
    const path = join(dynamic, "web.yml");
    fs.writeFileSync(path, "a: 1\n");
    await expect(f.writeAtomic(path, "a: 2\n", tmp)).rejects.toThrow(/quota exceeded/);
    await expect(f.checkWritable(path, tmp)).rejects.toThrow(/quota exceeded/);
    expect(fs.readFileSync(path, "utf8")).toBe("a: 1\n");
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it("writes through a symbolic link: the link stays, its target is replaced beside it", async () => {
    const { root, dynamic, tmp } = await traefikDir();
    const { files: f } = files();
    fs.mkdirSync(join(root, "shared"));
    const real = join(root, "shared", "web.yml");
    const link = join(dynamic, "web.yml");
    fs.writeFileSync(real, "a: 1\n");
    fs.chmodSync(real, 0o640);
    fs.symlinkSync("../shared/web.yml", link);
    await f.checkWritable(link, tmp);
    await f.writeAtomic(link, "a: 2\n", tmp);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe("../shared/web.yml");
    expect(fs.readFileSync(real, "utf8")).toBe("a: 2\n");
    expect(fs.statSync(real).mode & 0o7777).toBe(0o640);
    expect(fs.readdirSync(join(root, "shared", ".compose-roll-tmp"))).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe("sftpFiles' temp names", () => {
  it("never truncates or removes a file already at a check's temp name", async () => {
    const { dynamic, tmp } = await traefikDir();
    const { files: f, openHandles } = files();
    const path = join(dynamic, "web.yml");
    fs.writeFileSync(path, "a: 1\n");
    const victim = join(dynamic, "secret");
    fs.writeFileSync(victim, "root only\n", { mode: 0o600 });
    // What the check's name used to be: guessable, so a link or a file could wait there.
    const planted = join(tmp, `web.yml.${process.pid}.check.tmp`);
    fs.symlinkSync(victim, planted);
    await f.checkWritable(path, tmp);
    expect(fs.readFileSync(victim, "utf8")).toBe("root only\n");
    expect(fs.lstatSync(planted).isSymbolicLink()).toBe(true);
    expect(fs.readdirSync(tmp)).toEqual([`web.yml.${process.pid}.check.tmp`]);
    expect(openHandles()).toBe(0);
  });
});
