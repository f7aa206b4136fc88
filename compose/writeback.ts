// After a rollout, the project's files must name the image that runs, or the next routine
// `docker compose up -d` recreates the service on the old one (docker-rollout#50). The new
// ref goes where the project declares the image: a variable's env file, or the literal
// `image:` scalar in the compose file that declares it. Only that value's bytes change:
// comments, quoting, order and every other line stay as they were.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { isScalar, parseDocument, Scalar } from "yaml";
import { RefusedError } from "../controller/errors.js";
import type { Project } from "./project.js";

export type ImageSource =
  | { kind: "literal"; file: string; raw: string }
  /** `image: <prefix>${VAR...}<suffix>`: the ref's middle part goes into VAR. */
  | { kind: "variable"; file: string; raw: string; variable: string; prefix: string; suffix: string };

export interface FileWrite {
  path: string;
  /** The file actually replaced: `path`, or a symbolic link's checked target (writeTarget). */
  target?: string;
  /** undefined: the file does not exist yet (a new .env). */
  before: string | undefined;
  after: string;
}

export interface WriteBackPlan {
  ref: string;
  source: ImageSource;
  writes: FileWrite[];
  /** e.g. "WEB_IMAGE=app:v2 in /srv/app/.env". */
  summary: string;
  warnings: string[];
}

const NO_WRITE = "or pass --no-write and update the compose project yourself";

/** Where `service`'s image is declared: the last -f file that sets it, as compose merges. */
export function imageSource(project: Project, service: string): ImageSource {
  let found: { file: string; raw: string } | undefined;
  for (const file of project.files) {
    const node = imageNode(readFileSync(file, "utf8"), service);
    if (node && typeof node.value === "string") found = { file, raw: node.value };
  }
  if (!project.rawImages) throw new Error("compose-roll bug: the project was loaded without rawImages");
  const merged = project.rawImages[service];
  if (!found || found.raw !== merged) {
    throw new RefusedError(
      `cannot tell which file declares the image of ${service} (${merged ?? "no image:"}): it comes through extends, include or an anchor compose-roll does not follow`,
      `declare \`image:\` on the service itself in one of ${project.files.map((f) => basename(f)).join(", ")}, ${NO_WRITE}`,
    );
  }
  const vars = [...found.raw.matchAll(/\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g)].filter(
    (m) => m[1] !== "$",
  );
  if (vars.length === 0) return { kind: "literal", ...found };
  const m = vars[0] as RegExpMatchArray;
  const variable = (m[3] ?? /^([A-Za-z_][A-Za-z0-9_]*)(:?[-?].*)?$/s.exec(m[2] ?? "")?.[1]) as
    | string
    | undefined;
  if (vars.length > 1 || !variable || /\$/.test(m[2] ?? "")) {
    throw new RefusedError(
      `the image of ${service} is \`${found.raw}\` in ${found.file}: compose-roll writes back one plain variable (\${VAR}, \${VAR:-default}), not this`,
      `use image: \${VAR} or a literal image, ${NO_WRITE}`,
    );
  }
  const at = m.index as number;
  const unescaped = (s: string) => s.replace(/\$\$/g, "$");
  return {
    kind: "variable",
    ...found,
    variable,
    prefix: unescaped(found.raw.slice(0, at)),
    suffix: unescaped(found.raw.slice(at + m[0].length)),
  };
}

/** What writing `ref` back would change, without changing anything (dry run, and the check before a rollout). */
export function planWriteBack(
  project: Project,
  service: string,
  ref: string,
  env: Record<string, string | undefined>,
): WriteBackPlan {
  const source = imageSource(project, service);
  if (source.kind === "literal") {
    const before = readFileSync(source.file, "utf8");
    const after = spliceImage(before, service, ref, source.file);
    const writes =
      before === after
        ? []
        : [{ path: source.file, target: writeTarget(project, source.file), before, after }];
    return { ref, source, writes, summary: `image: ${ref} in ${source.file}`, warnings: [] };
  }
  const { variable, prefix, suffix } = source;
  const fits = ref.startsWith(prefix) && ref.endsWith(suffix) && ref.length > prefix.length + suffix.length;
  if (!fits) {
    throw new RefusedError(
      `--image ${ref} does not fit \`${source.raw}\` (the image of ${service} in ${source.file}): only \${${variable}} can change`,
      `roll to an image that matches ${prefix}…${suffix}, change the compose file, ${NO_WRITE}`,
    );
  }
  const value = ref.slice(prefix.length, ref.length - suffix.length);
  const defining = project.envFiles.filter(
    (f) => existsSync(f) && definition(readFileSync(f, "utf8"), variable),
  );
  // Later env files win in compose, so a new definition goes into the last one.
  const targets = defining.length ? defining : [project.envFiles[project.envFiles.length - 1] as string];
  const writes: FileWrite[] = [];
  for (const path of targets) {
    const before = existsSync(path) ? readFileSync(path, "utf8") : undefined;
    const after = setEnv(before ?? "", variable, value);
    if (after !== before) writes.push({ path, target: writeTarget(project, path), before, after });
  }
  const warnings =
    env[variable] !== undefined
      ? [
          `${variable} is set in this shell (${variable}=${env[variable]}): it overrides ${targets.join(", ")} for docker compose run from here; unset it`,
        ]
      : [];
  return { ref, source, writes, summary: `${variable}=${value} in ${targets.join(", ")}`, warnings };
}

/** Writes a plan's files, each atomically (a temp file beside it, then rename). */
export function applyWrites(writes: FileWrite[]): void {
  for (const w of writes) atomicWrite(w, w.after);
}

/**
 * Where a write to `path` lands. A symbolic link (the file itself, or a directory on its way
 * inside the project) is followed only to a file inside the project directory owned by the
 * user running compose-roll or by the project directory's owner: anyone who can plant a link
 * there could write that file anyway. Any other link is refused before anything changes, so
 * a run as root never writes through a planted link into a file its planter could not write.
 */
export function writeTarget(project: Project, path: string): string {
  const link = lstatSync(path, { throwIfNoEntry: false });
  const realDir = realpathSync(project.dir);
  let real: string;
  try {
    real = link ? realpathSync(path) : join(realpathSync(dirname(path)), basename(path));
  } catch (err) {
    throw new RefusedError(
      `${path} is a symbolic link to nothing (${(err as Error).message})`,
      `make it a plain file, ${NO_WRITE}`,
    );
  }
  // Inside the project, any link on the way counts (a linked subdirectory too); outside it,
  // the file given by -f or --env-file counts only if it is itself a link.
  const lexical = resolve(path);
  const throughLink = inside(lexical, resolve(project.dir))
    ? real !== join(realDir, relative(resolve(project.dir), lexical))
    : link?.isSymbolicLink() === true;
  if (!throughLink) return real;
  const fix = `replace the link with the file itself (cp --remove-destination ${real} ${path}), ${NO_WRITE}`;
  if (!inside(real, realDir)) {
    throw new RefusedError(
      `${path} is a symbolic link to ${real}, outside the project directory ${realDir}: compose-roll does not write through it`,
      fix,
    );
  }
  const owner = statSync(real, { throwIfNoEntry: false })?.uid;
  const allowed = [process.getuid?.(), statSync(realDir).uid];
  if (owner !== undefined && !allowed.includes(owner)) {
    throw new RefusedError(
      `${path} is a symbolic link to ${real}, owned by uid ${owner}, neither the user running compose-roll nor the project directory's owner: compose-roll does not write through it`,
      fix,
    );
  }
  return real;
}

const inside = (file: string, dir: string) => {
  const rel = relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith("/");
};

function imageNode(text: string, service: string): Scalar | undefined {
  const doc = parseDocument(text, { keepSourceTokens: false });
  const node = doc.getIn(["services", service, "image"], true);
  return isScalar(node) ? node : undefined;
}

/** Replaces only the image scalar's source bytes, keeping its quoting. */
export function spliceImage(text: string, service: string, ref: string, file: string): string {
  const node = imageNode(text, service);
  if (!node?.range) throw new RefusedError(`no image: for ${service} in ${file} any more`);
  const [start, end] = node.range;
  const quoted =
    node.type === Scalar.QUOTE_DOUBLE
      ? JSON.stringify(ref)
      : node.type === Scalar.QUOTE_SINGLE
        ? `'${ref.replace(/'/g, "''")}'`
        : node.type === Scalar.PLAIN
          ? ref
          : undefined;
  if (quoted === undefined) {
    throw new RefusedError(
      `the image of ${service} in ${file} is a block scalar`,
      `write it as image: <ref>, ${NO_WRITE}`,
    );
  }
  return text.slice(0, start) + quoted + text.slice(end);
}

const LINE = (variable: string) =>
  new RegExp(`^(\\s*(?:export\\s+)?${variable}\\s*=\\s*)("[^"]*"|'[^']*'|[^\\s#]*)(.*)$`);

function definition(text: string, variable: string): boolean {
  return text.split("\n").some((l) => LINE(variable).test(l));
}

/** Sets VAR in a dotenv text: every definition keeps its prefix, quotes and comment; else one appended line. */
export function setEnv(text: string, variable: string, value: string): string {
  const re = LINE(variable);
  let found = false;
  const lines = text.split("\n").map((line) => {
    const m = re.exec(line);
    if (!m) return line;
    found = true;
    const [, lead, old = "", rest] = m;
    const q = old.startsWith('"') ? '"' : old.startsWith("'") ? "'" : "";
    return `${lead}${q}${value}${q}${rest}`;
  });
  if (found) return lines.join("\n");
  const sep = text === "" || text.endsWith("\n") ? "" : "\n";
  return `${text}${sep}${variable}=${value}\n`;
}

/** A new temp file only we opened: O_EXCL (so O_NOFOLLOW too) under an unguessable name. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Temp file beside the target, fsync, rename; the file keeps its mode and (when allowed)
 * owner. The temp file is new, so the owner it gets is the replaced file's own: a
 * deploy user's file written by root stays the deploy user's, and nothing else changes hands.
 */
function atomicWrite(w: FileWrite, content: string): void {
  const real = w.target ?? w.path;
  if (real === w.path && lstatSync(w.path, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new RefusedError(`${w.path} is a symbolic link that was not checked`, NO_WRITE);
  }
  const st = existsSync(real) ? statSync(real) : undefined;
  const mode = st ? st.mode & 0o7777 : 0o644;
  const tmp = join(dirname(real), `.${basename(real)}.compose-roll-${randomBytes(8).toString("hex")}.tmp`);
  const fd = openSync(tmp, CREATE_NEW, mode);
  try {
    try {
      writeFileSync(fd, content);
      fchmodSync(fd, mode); // open() applied the umask: a 0664 file would come back 0644
      if (st && (st.uid !== process.getuid?.() || st.gid !== process.getgid?.())) {
        try {
          fchownSync(fd, st.uid, st.gid);
        } catch {}
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, real);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
}
