// An argv as one line a shell (and cli/shellwords.ts's splitWords) reads back: how hooks and
// the migration gate name the commands they run.

/** Quotes argv so splitWords gives it back (for messages, and the round-trip property). */
export function joinWords(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
