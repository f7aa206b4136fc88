import { expect, it } from "vitest";
import { withSettings } from "./options.js";

it("fills missing flags from the last revision's settings; given flags win", () => {
  const merged = withSettings(
    { traefikApi: "http://given:8080" },
    { traefikApi: "http://old:8080", traefikFile: "/srv/traefik/web.yml", unknown: "x" },
  );
  expect(merged).toEqual({ traefikApi: "http://given:8080", traefikFile: "/srv/traefik/web.yml" });
});
