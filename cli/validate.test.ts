import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { parseOptions, type RawOptions } from "./options.js";
import { checkModeFlags, checkName, checkProbePath, checkProjectName, shown } from "./validate.js";

const refusal = (f: () => unknown): RefusedError => {
  try {
    f();
  } catch (err) {
    if (err instanceof RefusedError) return err;
    throw err;
  }
  throw new Error("not refused");
};

describe("names and paths", () => {
  it("quotes a value as JSON, so a newline or control character stays on the line", () => {
    expect(shown("a\nb\u0000")).toBe('"a\\nb\\u0000"');
  });
  it("takes Docker's name characters and refuses shell syntax, blanks and @provider", () => {
    expect(checkName("shop_default", "--network", "network")).toBe("shop_default");
    for (const bad of ["$(id)", "a;b", "a`b`", "a b", "web@file", "-web", "", "a\nb"])
      expect(refusal(() => checkName(bad, "--network", "network")).hint).toMatch(/docker network ls/);
    expect(checkProjectName("shop-2_x", "-p")).toBe("shop-2_x");
    for (const bad of ["Shop", "_shop", "$(id)", ""])
      expect(() => checkProjectName(bad, "-p")).toThrow(RefusedError);
  });
  it("takes a probe path that fits an HTTP request line", () => {
    expect(checkProbePath("/healthz?x=1%20", "--probe-path")).toBe("/healthz?x=1%20");
    for (const bad of ["healthz", "/a b", "/a\r\nHost: evil", "/\u0000"])
      expect(refusal(() => checkProbePath(bad, "--probe-path")).message).toContain(shown(bad));
  });
  it("refuses label-mode drain flags for a file-mode service, and only then", () => {
    expect(() => checkModeFlags("file", { drainCommand: "touch /tmp/drain" }, "web")).toThrow(
      /--drain-command applies to label mode only/,
    );
    expect(() => checkModeFlags("file", { allowUnsafeDrain: true }, "web")).toThrow(/--allow-unsafe-drain/);
    expect(() => checkModeFlags("labels", { drainCommand: "x", drainFile: "/x" }, "web")).not.toThrow();
    expect(() => checkModeFlags("file", {}, "web")).not.toThrow();
  });
});

describe("every refusal of parseOptions", () => {
  const bad: RawOptions[] = [
    { image: "Bad:Ref" },
    { image: "" },
    { drain: "5 seconds" },
    { wait: "" },
    { healthTimeout: "0" },
    { routeTimeout: "500ms" },
    { lockStaleAfter: "99999h" },
    { port: "0" },
    { maxSurge: "1000000" },
    { historyLimit: "1e9" },
    { toRevision: "latest" },
    { traefikApi: "http//x" },
    { traefikUrl: "ftp://x" },
    { traefikFile: "web.json" },
    { traefikService: "a b" },
    { network: "$(id)" },
    { probePath: "healthz" },
    { projectName: "Shop" },
    { drainFile: "tmp/drain" },
    { drainCommand: "[1]" },
    { pull: "sometimes" },
  ];
  it.each(bad.map((raw) => [Object.keys(raw)[0], raw] as const))(
    "%s: names it and says what to do",
    (_, raw) => {
      const err = refusal(() => parseOptions("web", { traefikFile: "web.yml", ...raw }, "/srv"));
      expect(err.message).toMatch(/^--|^-p/);
      expect(err.hint).toBeTruthy();
    },
  );

  it("keeps any hostile value on one line and never throws anything but a refusal", () => {
    const hostile = fc.stringMatching(/^[\s\S]{0,30}$/).map((s) => `${s}\n$(touch /tmp/x);\`id\``);
    const key = fc.constantFrom<keyof RawOptions>(
      "image",
      "drain",
      "port",
      "traefikApi",
      "traefikService",
      "network",
      "probePath",
      "projectName",
    );
    fc.assert(
      fc.property(key, hostile, (k, v) => {
        const err = refusal(() => parseOptions("web", { traefikFile: "web.yml", [k]: v }, "/srv"));
        expect(err.message).not.toContain("\n");
        expect(err.hint ?? "").not.toContain("\n");
      }),
    );
  });
});
