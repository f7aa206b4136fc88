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

/** A reporter on a terminal: its lines, and its raw in-place redraws. */
function onTerminal() {
  const lines: string[] = [];
  const raw: string[] = [];
  const r = new HumanReporter(
    clock,
    (l) => lines.push(l),
    (s) => raw.push(s),
  );
  return { r, lines, raw };
}

it("on a terminal, redraws one progress line in place, then prints the result", () => {
  const { r, lines, raw } = onTerminal();
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

it("shows control characters from hook output and labels escaped, never acting on the terminal", () => {
  const { r, lines, raw } = onTerminal();
  const hostile = "\x1b]0;owned\x07\x1b[2J\rdone\x9b31m\u202e";
  r.event({ type: "output", hook: "pre-deploy", stream: "stdout", line: `migrating ${hostile}` });
  r.event({ type: "replica", name: `web-1${hostile}`, image: "app:v2", state: "healthy" });
  r.event({ ...layer(1), ref: `app:${hostile}` });
  const redraw = "\r\x1b[2K"; // the reporter's own: back to the line's start, clear it
  for (const text of [...lines, ...raw.map((s) => (s.startsWith(redraw) ? s.slice(redraw.length) : s))]) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the terminal
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  }
  expect(lines[0]).toContain("migrating \\x1b]0;owned\\x07\\x1b[2J\\rdone\\x9b31m\\u202e");
});

it("under --json, escapes the C1 controls JSON.stringify leaves raw, and the line parses back", () => {
  const lines: string[] = [];
  const line = "a\x9b2Jb\x7fc\x1bd";
  new JsonReporter((l) => lines.push(l)).event({
    type: "output",
    hook: "post-deploy",
    stream: "stderr",
    line,
  });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the terminal
  expect(lines[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(JSON.parse(lines[0] as string).line).toBe(line);
});
