// Words for refusals of settings: the key a misspelt one most likely meant, and what a
// wrong value was, in a user's terms.

/** The known key a misspelt one most likely meant: same letters ignoring case and -/_, or one or two slips. */
export function suggest<K extends string>(word: string, known: readonly K[]): K | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  const w = norm(word);
  let best: { key: K; d: number } | undefined;
  for (const key of known) {
    const d = distance(w, norm(key));
    if (!best || d < best.d) best = { key, d };
  }
  const allowed = w.length >= 5 ? 2 : 1;
  return best && best.d <= allowed ? best.key : undefined;
}

/** Edit distance counting a swap of two neighbours as one slip (optimal string alignment). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) {
    // A list of commands with one that is not a string: name that one.
    const odd = value.find((v) => typeof v !== "string");
    return odd === undefined || !value.some((v) => typeof v === "string")
      ? "a list"
      : `a list holding ${describe(odd)}`;
  }
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}
