// One writer at a time per compose file or .env: services of one project share them, and
// each service's rollout takes only its own lock, so two write-backs ending together would
// each read the file, change their own line and replace it, and the later would undo the
// earlier. The files are on this machine, so the lock is too: `.<name>.compose-roll.lock`
// beside the file, created exclusively (O_EXCL: never through a planted link), holding our
// pid; one left by a process that is gone, or older than STALE_MS, is removed.
import { closeSync, openSync, readFileSync, realpathSync, rmSync, statSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { RefusedError } from "../controller/errors.js";

/** A write-back takes milliseconds: a lock this old was left by a process that died mid-write. */
const STALE_MS = 60_000;

export interface WriteLockOptions {
  waitMs?: number;
  /** Whether `pid` (on this machine) still runs. */
  alive?: (pid: number) => boolean;
}

/** Runs `fn` holding the write lock of every file in `paths` (taken in one order, so no two runs deadlock). */
export async function withWriteLock<T>(
  paths: string[],
  fn: () => T | Promise<T>,
  opts: WriteLockOptions = {},
): Promise<T> {
  const locks = [...new Set(paths.map(real))]
    .sort()
    .map((p) => join(dirname(p), `.${basename(p)}.compose-roll.lock`));
  const held: string[] = [];
  try {
    for (const l of locks) {
      await take(l, opts);
      held.push(l);
    }
    return await fn();
  } finally {
    for (const l of held) rmSync(l, { force: true });
  }
}

function real(path: string): string {
  try {
    return realpathSync.native(resolve(path));
  } catch {
    return resolve(path);
  }
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

async function take(lock: string, opts: WriteLockOptions): Promise<void> {
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  const alive = opts.alive ?? running;
  for (;;) {
    try {
      const fd = openSync(lock, "wx", 0o600);
      writeSync(fd, `${process.pid} ${hostname()}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = readHolder(lock);
    const dead = holder.host === hostname() && holder.pid > 0 && !alive(holder.pid);
    if (dead || holder.ageMs > STALE_MS) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new RefusedError(
        `${lock.replace(/\.compose-roll\.lock$/, "").replace(/\/\.([^/]*)$/, "/$1")} is being written by another compose-roll (pid ${holder.pid})`,
        `retry once it is done; if no compose-roll runs, remove ${lock}`,
      );
    }
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

function readHolder(lock: string): { pid: number; host: string; ageMs: number } {
  try {
    const [pid = "", host = ""] = readFileSync(lock, "utf8").trim().split(" ");
    return { pid: Number(pid) || 0, host, ageMs: Date.now() - statSync(lock).mtimeMs };
  } catch {
    return { pid: 0, host: "", ageMs: 0 }; // removed meanwhile: the next create decides
  }
}
