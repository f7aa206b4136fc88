// Splits text that arrives in chunks (a hook's output, the Engine's event stream) into lines,
// holding at most `cap` characters of a line that has not ended yet: a peer that never sends
// a newline cannot make compose-roll buffer without bound.

export class LineBuffer {
  private buf = "";
  /** Inside a line already cut (drop mode): skip up to its newline. */
  private skipping = false;

  /**
   * `long`: what becomes of a line longer than `cap`. "split": passed on in pieces of `cap`
   * (output meant for a person); "drop": discarded whole (a record, where a piece of one
   * could parse as something else).
   */
  constructor(
    private readonly cap: number,
    private readonly long: "split" | "drop",
    private readonly emit: (line: string) => void,
  ) {}

  push(chunk: string): void {
    this.buf += chunk;
    for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, nl).replace(/\r$/, "");
      this.buf = this.buf.slice(nl + 1);
      const skipped = this.skipping;
      this.skipping = false;
      if (!skipped) this.line(line);
    }
    if (this.buf.length <= this.cap) return;
    if (this.long === "drop") {
      this.skipping = true;
      this.buf = "";
      return;
    }
    while (this.buf.length > this.cap) {
      this.emit(this.buf.slice(0, this.cap));
      this.buf = this.buf.slice(this.cap);
    }
  }

  /** The last line, if it did not end with a newline. */
  end(): void {
    const rest = this.buf;
    this.buf = "";
    if (rest && !this.skipping) this.line(rest);
  }

  private line(line: string): void {
    if (line.length <= this.cap) this.emit(line);
    else if (this.long === "drop") return;
    else for (let at = 0; at < line.length; at += this.cap) this.emit(line.slice(at, at + this.cap));
  }
}

/** The longest Engine event line read: one event with all its labels is a few KiB. */
export const EVENT_LINE_CAP = 1024 * 1024;
