import { describe, expect, it } from "vitest";
import { accessLogOf } from "./accesslog-source.js";

describe("accessLogOf: what Traefik's command line says about its access log", () => {
  it("reads JSON to stdout from the two flags, in any case and order", () => {
    expect(accessLogOf(["traefik", "--accesslog=true", "--accesslog.format=json"])).toBe("stdout");
    expect(accessLogOf(["--accessLog.format=JSON", "--accesslog"])).toBe("stdout");
  });

  it("tells a log off, in the common format, or in a file", () => {
    expect(accessLogOf(["--accesslog=false", "--accesslog.format=json"])).toBe("off");
    expect(accessLogOf(["--accesslog=true"])).toBe("not-json");
    expect(accessLogOf(["--accesslog.format=json", "--accesslog.filepath=/logs/access.log"])).toEqual({
      file: "/logs/access.log",
    });
  });

  it("does not know when no flag names it (a static configuration file may)", () => {
    expect(accessLogOf(["--providers.file.directory=/dyn", "--log.format=json"])).toBeUndefined();
    expect(accessLogOf([])).toBeUndefined();
  });
});
