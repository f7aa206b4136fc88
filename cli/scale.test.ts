import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { rolloutOptions } from "./app-context.js";
import type { Options } from "./options.js";
import { parseScale } from "./parsers.js";

describe("--scale SERVICE=N", () => {
  it("reads compose's form", () => {
    expect(parseScale("web=5", "--scale")).toEqual({ service: "web", replicas: 5 });
    expect(parseScale(" api_v2=1 ", "--scale")).toEqual({ service: "api_v2", replicas: 1 });
  });

  it("refuses zero, a missing count, a bare number and a negative one, naming the input", () => {
    for (const bad of ["web=0", "web=", "5", "web=-1", "=3", "web=1.5"])
      expect(() => parseScale(bad, "--scale"), bad).toThrow(new RegExp(`--scale: "${bad}" is not SERVICE=N`));
  });

  it("names only the service rolled (exit 2 otherwise)", () => {
    const opts = { service: "web", scale: { service: "traefik", replicas: 2 } } as unknown as Options;
    expect(() => rolloutOptions(opts, undefined, {})).toThrow(RefusedError);
    expect(() => rolloutOptions(opts, undefined, {})).toThrow(/--scale traefik=2: this command rolls web/);
    const ok = { service: "web", scale: { service: "web", replicas: 2 } } as unknown as Options;
    expect(rolloutOptions(ok, undefined, {}).scale).toBe(2);
  });
});
