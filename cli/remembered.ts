// The last revision's settings, read back from labels on the Docker host, as the lowest
// layer but one of cli/settings.ts. Labels there are writable by anyone with access to that
// host: a remembered value is parsed like the flag it stands for (by parseOptions, named as
// the last revision's), a remembered Traefik file must be absolute, and over tcp:// — where
// the file is written and the URLs are requested from this machine, not the Docker host —
// the ones marked `local` in the option table are not followed without --trust-host-settings.
import { isAbsolute } from "node:path";
import { RefusedError } from "../controller/errors.js";
import { type RawOptions, withSettings } from "./options.js";
import { fieldOf, OPTIONS } from "./table/index.js";
import { shown } from "./validate.js";

/** The Docker host the records were read from. */
export interface RecordHost {
  url: string;
  /** Another machine, reached over tcp://: its records do not choose local paths or URLs. */
  remote: boolean;
}

export interface Remembered {
  values: RawOptions;
  /** One line naming what was not followed, and why; empty when nothing was. */
  ignored: string[];
}

/** `given`: the layers above, whose values make a remembered one moot. */
export function rememberedValues(
  settings: Record<string, string> | undefined,
  host: RecordHost | undefined,
  given: (field: keyof RawOptions) => boolean,
  trust: boolean,
): Remembered {
  const values = withSettings({}, settings);
  const file = values.traefikFile;
  // Label mode records no file: an empty value names none, it is not a relative path.
  if (file !== undefined && file !== "" && !given("traefikFile") && !isAbsolute(file)) {
    throw new RefusedError(
      `traefik-file (last revision): ${shown(file)} is not an absolute path`,
      "give --traefik-file (or COMPOSE_ROLL_TRAEFIK_FILE, or traefik-file in x-compose-roll)",
    );
  }
  if (!host?.remote || trust) return { values, ignored: [] };
  const dropped: string[] = [];
  for (const o of OPTIONS) {
    const field = fieldOf(o.key) as keyof RawOptions;
    if (!o.local || values[field] === undefined) continue;
    if (!given(field)) dropped.push(o.key);
    delete values[field];
  }
  if (dropped.length === 0) return { values, ignored: [] };
  return {
    values,
    ignored: [
      `not following the last revision's ${dropped.join(", ")}: recorded on ${host.url}, another machine, and used on this one; give them as flags, or pass --trust-host-settings`,
    ],
  };
}
