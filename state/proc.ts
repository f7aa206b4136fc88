// Whether a lock holder's process still runs, as Linux's /proc tells it. `process.kill(pid, 0)`
// alone is not enough: it succeeds on a zombie, and a SIGKILLed
// compose-roll stays one until its parent reaps it. A parent that never reaps (a CI
// container whose PID 1 is a shell that `exec`d into something else, `sh -c 'cr & exec
// sleep'`) keeps it one forever, and the rerun then refused "locked by pid <the dead one>".
// A pid can also be reused by an unrelated process, so the holder records its start time
// (`starttime`, field 22 of /proc/<pid>/stat, in clock ticks since boot) and we compare it.
// The boot ID and pid namespace say whether the pid means anything here at all: same host
// name but another boot, or another container sharing the host name, are "elsewhere".
import { readFileSync, readlinkSync } from "node:fs";
import type { ProcessTag } from "../controller/ports.js";

export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), T, t, I... */
  state: string;
  start: string;
}

export type ReadFile = (path: string) => string;

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself
 * contain spaces and parentheses, so fields are counted from the LAST ')'.
 */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // After ')': field 3 (state) is index 0, field 22 (starttime) is index 19.
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const [state, start] = [rest[0], rest[19]];
  if (!state || !start || !/^\d+$/.test(start)) return undefined;
  return { state, start };
}

const read: ReadFile = (path) => readFileSync(path, "utf8");

/** This process's tag, or undefined where /proc is missing (macOS, Windows). */
export function selfTag(
  readFile: ReadFile = read,
  link: (p: string) => string = readlinkSync,
): ProcessTag | undefined {
  try {
    const stat = parseStat(readFile("/proc/self/stat"));
    if (!stat) return undefined;
    return {
      start: stat.start,
      boot: readFile("/proc/sys/kernel/random/boot_id").trim(),
      pidns: link("/proc/self/ns/pid"),
    };
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a live process here, and (given `start`) the very one that recorded it.
 * A zombie or a dead entry is not alive; a pid now used by a process started at another
 * time is not the holder. Without /proc it falls back to kill(pid, 0), whose EPERM still
 * means "exists, owned by someone else".
 */
export function pidAlive(pid: number, start?: string, readFile: ReadFile = read): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  let text: string | undefined;
  try {
    text = readFile(`/proc/${pid}/stat`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOENT with a readable /proc: the process is gone. Anything else: no /proc to ask.
    if (code === "ENOENT" && procMounted(readFile)) return false;
    return killZero(pid);
  }
  const stat = parseStat(text);
  if (!stat) return killZero(pid);
  if (stat.state === "Z" || stat.state === "X" || stat.state === "x") return false;
  return start === undefined || stat.start === start;
}

function procMounted(readFile: ReadFile): boolean {
  try {
    return parseStat(readFile("/proc/self/stat")) !== undefined;
  } catch {
    return false;
  }
}

function killZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether a pid recorded with `theirs` can be checked by us (`ours`): same boot, same pid namespace. */
export function samePidSpace(theirs: ProcessTag | undefined, ours: ProcessTag | undefined): boolean {
  // Older locks (and systems without /proc) carry no tag: trust the host name, as before.
  if (!theirs || !ours) return true;
  return theirs.boot === ours.boot && theirs.pidns === ours.pidns;
}
