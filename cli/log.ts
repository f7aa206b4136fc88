// The debug log (-v): pino on stderr. What it must never print is a value from a service's
// environment, a registry credential, a key or a password: they reach logs through objects
// logged whole (an inspect result, a create body, an auth config, a request's headers), so
// every argument is copied with those values censored, at any depth, before pino sees it.
import { pino } from "pino";

const CENSOR = "[redacted]";

/**
 * A key whose value is censored, whatever its case and wherever it sits: environments
 * (`Env`, `environment`), passwords, secrets, tokens, certificates, credentials,
 * passphrases, cookies (anywhere in the key), and the words auth, authorization, key
 * (`key`, `privateKey`, `ssh_key`, `apiKey`, `X-Registry-Auth`; not `keyboard` or `authconfig`,
 * whose insides are walked).
 */
const SECRET_PART = /^(env|environment)$|passw|secret|token|credential|passphrase|cookie|cert/i;
const SECRET_WORD = /^(auth|authorization|key|keys|apikey|privatekey|sshkey|accesskey|secretkey)$/;
const words = (key: string) =>
  key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/);
const isSecret = (key: string) => SECRET_PART.test(key) || words(key).some((w) => SECRET_WORD.test(w));

/** scheme://user:password@host: the userinfo goes, the rest of the URL stays readable. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

/** Deeper than any object we log; past it, a value is censored rather than walked. */
const MAX_DEPTH = 64;

export const scrubUrls = (text: string): string => text.replace(URL_USERINFO, `$1${CENSOR}@`);

/** A copy of `value` with every secret's value censored and every URL's userinfo scrubbed. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === "string") return scrubUrls(value);
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH || seen.has(value)) return CENSOR;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
    const source: object =
      value instanceof Error
        ? { ...value, type: value.name, message: value.message, stack: value.stack }
        : typeof (value as { toJSON?: unknown }).toJSON === "function"
          ? ((value as { toJSON(): unknown }).toJSON() as object)
          : value;
    if (source === null || typeof source !== "object") return redact(source, depth + 1, seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(source)) {
      out[k] = isSecret(k) && v !== undefined ? CENSOR : redact(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

export function logger(verbose: boolean, dest: pino.DestinationStream = pino.destination(2)): pino.Logger {
  return pino(
    {
      level: verbose ? "debug" : "warn",
      hooks: {
        logMethod(args, method) {
          return method.apply(this, args.map((a) => redact(a)) as Parameters<typeof method>);
        },
      },
      formatters: { bindings: (bindings) => redact(bindings) as Record<string, unknown> },
    },
    dest,
  );
}
