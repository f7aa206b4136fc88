// Label mode's address: Traefik's Docker provider lists a container as http://<IP on its
// network>:<port>, and label mode compares URLs with Traefik's API, so `address: "ip"` must
// give exactly that whatever file mode prefers (names, through Docker's DNS).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { urlOf } from "./replicas.js";
import type { ContainerInspect } from "./types.js";

const container = JSON.parse(
  readFileSync(new URL("./fixtures/compose-container.json", import.meta.url), "utf8"),
) as ContainerInspect;

describe("urlOf address", () => {
  it('"ip" is the IP on the chosen network, as Traefik\'s Docker provider lists it', () => {
    expect(urlOf(container, [8000], { network: "crfix_back", address: "ip" })).toBe("http://172.20.0.2:8000");
    expect(urlOf(container, [8000], { network: "crfix_front", address: "ip" })).toBe(
      "http://172.19.0.2:8000",
    );
    expect(urlOf(container, [8000], { network: "crfix_back", port: 9000, address: "ip" })).toBe(
      "http://172.20.0.2:9000",
    );
  });

  it("unset is file mode's choice: the short container ID, through Docker's DNS", () => {
    expect(urlOf(container, [8000], { network: "crfix_back" })).toBe("http://f00f5c946f36:8000");
  });
});
