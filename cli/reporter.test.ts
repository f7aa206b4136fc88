import { expect, it } from "vitest";
import type { Clock } from "../controller/ports.js";
import { HumanReporter, JsonReporter } from "./reporter.js";

const clock: Clock = { now: () => 0, sleep: async () => {} };
const ref = "127.0.0.1:5000/demo/app:v2";
const pulling = { type: "pull", ref, status: "pulling", detail: "from 127.0.0.1:5000" } as const;
const layer = (done: number) =>
  ({
    type: "pull",
    ref,
    status: "pulling",
    layers: { done, total: 3 },
    bytes: { current: done * 1_000_000, total: 3_000_000 },
  }) as const;
const pulled = {
  type: "pull",
  ref,
  status: "pulled",
  detail: "Downloaded newer image",
  layers: { done: 3, total: 3 },
  seconds: 1.5,
} as const;

it("on a terminal, redraws one progress line in place, then prints the result", () => {
  const lines: string[] = [];
  const raw: string[] = [];
  const r = new HumanReporter(
    clock,
    (l) => lines.push(l),
    (s) => raw.push(s),
  );
  for (const e of [pulling, layer(1), layer(2), pulled]) r.event(e);
  expect(lines).toEqual([
    `[  0.0s] pulling ${ref} from 127.0.0.1:5000`,
    `[  0.0s] pulled ${ref} in 1.5s (Downloaded newer image, 3/3 layers)`,
  ]);
  expect(raw).toEqual([
    `\r\x1b[2K[  0.0s] pulling ${ref}: 1/3 layers, 1.0 MB of 3.0 MB`,
    `\r\x1b[2K[  0.0s] pulling ${ref}: 2/3 layers, 2.0 MB of 3.0 MB`,
    "\r\x1b[2K",
  ]);
});

it("off a terminal (CI logs), prints only the start and end of a pull", () => {
  const lines: string[] = [];
  const r = new HumanReporter(clock, (l) => lines.push(l), undefined);
  for (const e of [pulling, layer(1), layer(2), pulled]) r.event(e);
  expect(lines).toHaveLength(2);
  r.event({ type: "pull", ref, status: "present", detail: "on the Docker host (--pull missing)" });
  expect(lines[2]).toBe(`[  0.0s] image ${ref}: on the Docker host (--pull missing)`);
});

it("under --json, every pull event is one JSON line", () => {
  const lines: string[] = [];
  const r = new JsonReporter((l) => lines.push(l));
  r.event(layer(1));
  expect(JSON.parse(lines[0] as string)).toMatchObject({
    type: "pull",
    ref,
    status: "pulling",
    layers: { done: 1 },
  });
});
