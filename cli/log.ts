// The debug log (-v): pino on stderr. What it must never print is a value from a service's
// environment or a registry credential: they reach logs through objects logged whole (an
// inspect result, a create body, an auth config), so those keys are censored wherever they
// sit, at any depth pino's paths reach.
import { pino } from "pino";

const SECRET_KEYS = [
  "Env",
  "env",
  "password",
  "auth",
  "identitytoken",
  "registrytoken",
  "IdentityToken",
  "RegistryToken",
  "authorization",
  "Authorization",
  "X-Registry-Auth",
  "passphrase",
  "privateKey",
];

/** pino redact paths: each key at the top, and one to three levels down. */
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `["${k}"]`;
  const dot = key.startsWith("[") ? "" : ".";
  return [key, `*${dot}${key}`, `*.*${dot}${key}`, `*.*.*${dot}${key}`];
});

export function logger(verbose: boolean, dest: pino.DestinationStream = pino.destination(2)): pino.Logger {
  return pino(
    { level: verbose ? "debug" : "warn", redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    dest,
  );
}
