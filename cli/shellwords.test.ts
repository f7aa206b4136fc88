import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { joinWords, splitWords } from "./shellwords.js";

const split = (t: string) => splitWords(t, "--pre-deploy");

describe("splitWords (compose's `command:` splitting, no shell)", () => {
  it("splits on whitespace and honours quotes and backslashes as compose does", () => {
    expect(split("python3 manage.py migrate --noinput")).toEqual([
      "python3",
      "manage.py",
      "migrate",
      "--noinput",
    ]);
    expect(split(`  echo  'a b'  "c \\"d\\" \\n"  e\\ f `)).toEqual(["echo", "a b", 'c "d" \\n', "e f"]);
    expect(split(`x '' ""`)).toEqual(["x", "", ""]);
    expect(split("echo $HOME")).toEqual(["echo", "$HOME"]); // compose already interpolated; no expansion here
  });

  it("refuses shell syntax it would not run as such, naming the flag and the way to ask for a shell", () => {
    for (const t of ["migrate && collectstatic", "a; b", "a | b", "a > out", "$(touch /tmp/x)", "`id`"]) {
      const err = (() => {
        try {
          split(t);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as RefusedError).message).toMatch(/^--pre-deploy: .* runs without a shell$/);
      expect((err as RefusedError).hint).toMatch(/"sh", "-c"/);
    }
    expect(split("'a && b'")).toEqual(["a && b"]);
    // The operator is named as written, not by its first character.
    for (const [t, op] of [
      ["migrate && collectstatic", '"&&"'],
      ["echo $(id)", '"$("'],
      ["a >> log", '">>"'],
      ["a;b", '";"'],
    ])
      expect(() => split(t as string)).toThrow(`has shell syntax ${op} but runs without a shell`);
  });

  it("refuses a line break between words (a shell would run two commands), not one around them", () => {
    // A YAML `|` block of two commands, and the same typed with $'...'.
    for (const t of [
      "python3 manage.py migrate\npython3 manage.py collectstatic\n",
      "migrate\r\ntouch x",
      "a\n'b'",
    ])
      expect(() => split(t)).toThrow(/^--pre-deploy: .* has a line break between words/);
    expect(split("python3 manage.py migrate --noinput\n")).toEqual([
      "python3",
      "manage.py",
      "migrate",
      "--noinput",
    ]);
    expect(split("\n migrate\r\n")).toEqual(["migrate"]);
    expect(split("echo 'a\nb'")).toEqual(["echo", "a\nb"]); // quoted: one word, as a shell reads it
  });

  it("refuses empty, unclosed and dangling input", () => {
    for (const t of ["", "   ", "echo 'a", 'echo "a', "echo a\\"])
      expect(() => split(t)).toThrow(RefusedError);
  });

  it("gives back any argv joinWords quoted (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 0, maxLength: 12 }), { minLength: 1, maxLength: 6 }),
        (argv) => {
          expect(split(joinWords(argv))).toEqual(argv);
        },
      ),
    );
  });

  it("throws nothing but RefusedError on any input (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (t) => {
        try {
          split(t);
        } catch (e) {
          expect(e).toBeInstanceOf(RefusedError);
        }
      }),
    );
  });
});
