// Property tests for the hand-written parsers: generated valid input must parse to the
// right value, and any input at all must either parse or be refused (exit 2), never crash.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { refusedOr } from "../controller/errors.test-support.js";
import { checkImageRef, MAX_DURATION_MS, parseDuration } from "./parsers.js";

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

describe("parseDuration", () => {
  const part = fc.tuple(fc.nat({ max: 100_000 }), fc.constantFrom<Unit>("h", "m", "s", "ms"));

  it("parses any run of <number><unit> parts to their sum, or refuses it past 24 days", () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map(([n, u]) => `${n}${u}`).join("");
        const ms = parts.reduce((sum, [n, u]) => sum + n * UNIT_MS[u], 0);
        if (ms <= MAX_DURATION_MS) expect(parseDuration(text, "--drain")).toBe(ms);
        else expect(() => parseDuration(text, "--drain")).toThrow(/longer than 24 days/);
      }),
    );
  });

  it("reads a bare number as seconds, surrounding blanks ignored", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2_000_000 }), fc.constantFrom("", " ", "\t"), (n, pad) => {
        expect(parseDuration(`${pad}${n}${pad}`, "--wait")).toBe(n * 1000);
      }),
    );
    expect(parseDuration("1.5", "--wait")).toBe(1500);
  });

  it("never throws anything but a refusal, and never returns a timer Node would cut short", () => {
    const durationish = fc.stringMatching(/^[0-9.smh \t-]{0,12}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), durationish, fc.stringMatching(/^\d{1,400}(ms|s|m|h)?$/)), (text) => {
        const out = refusedOr(() => parseDuration(text, "--drain"));
        if (out instanceof RefusedError) {
          expect(out.message).toContain("--drain");
        } else {
          expect(Number.isInteger(out) && out >= 0 && out <= MAX_DURATION_MS).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses what only looks like a duration", () => {
    for (const bad of ["1d", "1m 30s", "1.s", ".5s", "1e3", "-1", "1sm", "ms", "9".repeat(400)]) {
      expect(() => parseDuration(bad, "--drain")).toThrow(RefusedError);
    }
  });
});

describe("checkImageRef", () => {
  const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
  const separator = fc.constantFrom(".", "_", "__", "-", "--", "---");
  const component = fc
    .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 }))
    .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(""));
  const hostPart = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,5}[a-zA-Z0-9])?$/);
  const domain = fc
    .tuple(
      fc.oneof(
        fc.array(hostPart, { minLength: 2, maxLength: 3 }).map((p) => p.join(".")),
        fc.constant("localhost"),
        fc.constant("[::1]"),
      ),
      fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    )
    .map(([host, port]) => (port === undefined ? host : `${host}:${port}`));
  const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
  const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`);
  const parts = fc.record({
    domain: fc.option(domain, { nil: undefined }),
    path: fc.array(component, { minLength: 1, maxLength: 3 }),
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  });
  type Parts = typeof parts extends fc.Arbitrary<infer P> ? P : never;
  const join = (r: Parts) =>
    (r.domain ? `${r.domain}/` : "") +
    r.path.join("/") +
    (r.tag ? `:${r.tag}` : "") +
    (r.digest ? `@${r.digest}` : "");
  const ref = parts.map(join);

  it("accepts every reference built by Docker's grammar", () => {
    fc.assert(
      fc.property(ref, (r) => {
        expect(checkImageRef(r)).toBe(r);
      }),
      { numRuns: 2000 },
    );
    for (const ok of ["my__app:v1", "team/my--app", "Registry.Example.com:5000/app", "[::1]:5000/app"]) {
      expect(checkImageRef(ok)).toBe(ok);
    }
  });

  it("refuses a path component with an uppercase letter or a dangling separator", () => {
    // Only the registry host may hold uppercase; path components never start with a separator.
    const broken = fc
      .tuple(parts, fc.constantFrom("Ab", "aB", "-a", "_a", ".a", "___a", "a-", ""))
      .map(([r, bad]) => join({ ...r, path: [...r.path, bad] }));
    fc.assert(
      fc.property(broken, (r) => {
        expect(() => checkImageRef(r)).toThrow(RefusedError);
      }),
    );
    expect(() => checkImageRef(`${"a".repeat(256)}:v1`)).toThrow(RefusedError);
  });

  it("never throws anything but a refusal", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-zA-Z0-9:/@._-]{0,40}$/)), (r) => {
        const out = refusedOr(() => checkImageRef(r));
        if (!(out instanceof RefusedError)) expect(out).toBe(r);
      }),
      { numRuns: 2000 },
    );
  });
});
