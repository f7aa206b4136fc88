// For property tests of parsers: a refusal (exit 2) is an allowed outcome, any other throw is not.
import { RefusedError } from "./errors.js";

/** Either the parser's value or the refusal; anything else thrown fails the property. */
export function refusedOr<T>(f: () => T): T | RefusedError {
  try {
    return f();
  } catch (err) {
    if (err instanceof RefusedError) return err;
    throw err;
  }
}
