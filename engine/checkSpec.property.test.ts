// Property tests for the --warmup and --smoke parsers: valid specs read back to themselves,
// and any text at all either parses or is refused (exit 2), never anything else.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { refusedOr } from "../controller/errors.test-support.js";
import {
  DEFAULT_WARMUP_COUNT,
  formatSmoke,
  formatWarmup,
  MAX_WARMUP_COUNT,
  parseSmoke,
  parseWarmup,
} from "./checkSpec.js";

// Path characters: printable ASCII without blanks, plus non-ASCII (sent as UTF-8, legal to ask for).
const pathChar = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.constantFrom("é", "ü", "漢"),
);
const path = (exclude = "") =>
  fc
    .array(
      pathChar.filter((c) => !exclude.includes(c)),
      { maxLength: 40 },
    )
    .map((cs) => `/${cs.join("")}`);
const junk = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }));

describe("parseWarmup", () => {
  it("reads a path with its count back, whatever the path ends in", () => {
    fc.assert(
      fc.property(path(), fc.integer({ min: 1, max: MAX_WARMUP_COUNT }), (p, count) => {
        expect(parseWarmup(formatWarmup({ path: p, count }), "--warmup")).toEqual({ path: p, count });
      }),
    );
  });

  it("takes a path without x<count> as the default count", () => {
    fc.assert(
      fc.property(
        path().filter((p) => !/x\d+$/.test(p)),
        (p) => {
          expect(parseWarmup(p, "--warmup")).toEqual({ path: p, count: DEFAULT_WARMUP_COUNT });
        },
      ),
    );
  });

  it("refuses counts out of bounds, naming the flag", () => {
    for (const text of ["/x0", "/x1001", "/ax99999999999999999999"]) {
      expect(() => parseWarmup(text, "--warmup")).toThrow(/^--warmup: .* the count must be from 1 to 1000$/);
    }
  });

  it("refuses a path without a leading / or with blanks or controls", () => {
    for (const text of ["", "x5", "api", "/a b", "/a\tb", "/a\u0000", "/a\nx5", " /a"]) {
      expect(() => parseWarmup(text, "--warmup")).toThrow(RefusedError);
    }
  });

  it("parses or refuses any text, and never throws anything else", () => {
    fc.assert(
      fc.property(junk, (text) => {
        const got = refusedOr(() => parseWarmup(text, "--warmup"));
        if (got instanceof RefusedError) expect(got.message.startsWith("--warmup: ")).toBe(true);
        else expect(got.count).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});

describe("parseSmoke", () => {
  it("reads a path and any expected text back, the first = splitting", () => {
    fc.assert(
      fc.property(path("="), fc.string({ minLength: 1 }), (p, expect_) => {
        expect(parseSmoke(formatSmoke({ path: p, expect: expect_ }), "--smoke")).toEqual({
          path: p,
          expect: expect_,
        });
      }),
    );
    expect(parseSmoke("/v=a=b", "--smoke")).toEqual({ path: "/v", expect: "a=b" });
  });

  it("refuses a spec without = or without expected text, saying what to give", () => {
    expect(() => parseSmoke("/version", "--smoke")).toThrow('--smoke: "/version" has no "="');
    expect(() => parseSmoke("/version=", "--smoke")).toThrow('--smoke: "/version=" has nothing after "="');
    expect(() => parseSmoke("version=v2", "--smoke")).toThrow("does not start with a URL path");
  });

  it("parses or refuses any text, and never throws anything else", () => {
    fc.assert(
      fc.property(junk, (text) => {
        const got = refusedOr(() => parseSmoke(text, "--smoke"));
        if (got instanceof RefusedError) expect(got.message.startsWith("--smoke: ")).toBe(true);
        else expect(got.expect.length).toBeGreaterThan(0);
      }),
    );
  });
});
