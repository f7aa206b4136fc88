import { describe, expect, it } from "vitest";
import type { Replica } from "../controller/model.js";
import { checkAddresses, planSync, unroutedWarning } from "./sync.js";

const replica = (n: number, over: Partial<Replica> = {}): Replica => ({
  id: `c${n}`,
  name: `demo-web-${n}`,
  number: n,
  imageId: "sha256:v1",
  imageRef: "app:v1",
  running: true,
  health: "healthy",
  url: `http://demo-web-${n}:8000`,
  ...over,
});

describe("planSync", () => {
  it("after compose recreated the containers: drops the dead servers, proves and adds the new", () => {
    const plan = planSync(
      [replica(4), replica(5), replica(7)],
      ["http://demo-web-4:8000", "http://demo-web-5:8000", "http://demo-web-6:8000"],
    );
    expect(plan).toEqual({
      servers: ["http://demo-web-4:8000", "http://demo-web-5:8000", "http://demo-web-7:8000"],
      kept: ["http://demo-web-4:8000", "http://demo-web-5:8000"],
      dropped: ["http://demo-web-6:8000"],
      added: ["http://demo-web-7:8000"],
    });
  });

  it("converts a file an older compose-roll wrote with IPs: every server replaced, each proven", () => {
    const plan = planSync([replica(1), replica(2)], ["http://172.18.0.5:8000", "http://172.18.0.6:8000"]);
    expect(plan.kept).toEqual([]);
    expect(plan.dropped).toEqual(["http://172.18.0.5:8000", "http://172.18.0.6:8000"]);
    expect(plan.added).toEqual(["http://demo-web-1:8000", "http://demo-web-2:8000"]);
  });

  it("lists only containers that serve: healthy, or without a healthcheck, and running", () => {
    const plan = planSync(
      [
        replica(1, { health: "none" }),
        replica(2, { health: "starting" }),
        replica(3, { health: "unhealthy" }),
        replica(4, { running: false, exitCode: 137, url: undefined }),
      ],
      ["http://demo-web-3:8000"],
    );
    expect(plan.servers).toEqual(["http://demo-web-1:8000"]);
    expect(plan.dropped).toEqual(["http://demo-web-3:8000"]);
  });

  it("has nothing to do when the file already matches", () => {
    const plan = planSync([replica(1), replica(2)], ["http://demo-web-2:8000", "http://demo-web-1:8000"]);
    expect(plan.added).toEqual([]);
    expect(plan.dropped).toEqual([]);
  });
});

describe("checkAddresses", () => {
  it("refuses a running container without an address Traefik can use, naming the flags", () => {
    expect(() => checkAddresses([replica(1), replica(2, { url: undefined })])).toThrow(/demo-web-2/);
    expect(() => checkAddresses([replica(1, { running: false, url: undefined })])).not.toThrow();
  });
});

describe("unroutedWarning", () => {
  it("is one line saying what is missing and what to add", () => {
    const line = unroutedWarning("web", "/srv/dynamic/web.yml");
    expect(line).not.toContain("\n");
    expect(line).toMatch(/no Traefik router uses web@file.*service: web@file/);
  });
});
