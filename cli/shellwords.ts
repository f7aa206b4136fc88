// A hook given as one string is split the way compose splits a string `command:`
// (go-shellwords without env or backtick expansion): whitespace separates words, single
// quotes keep everything, double quotes keep all but \" and \\, a backslash escapes the
// next character. No shell ever runs it, so shell syntax outside quotes (`;`, `&&`, `|`,
// `>`, `(`, a backtick, a line break between words) would silently mean something else
// than the user wrote: refused, with the way to ask for a shell explicitly.
import { RefusedError } from "../controller/errors.js";
import { shown } from "./validate.js";

export { joinWords } from "../controller/shellwords.js";

const OPERATORS = new Set([";", "&", "|", "<", ">", "(", ")", "`"]);

export function splitWords(text: string, what: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  let lineBreak = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    // Only set outside quotes, and refused at the next word, so no quote is open here.
    if (lineBreak && !/\s/.test(c)) {
      throw refusal(text, what, "has a line break between words: a shell would run two commands");
    }
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (c === "\\") {
      const next = text[i + 1];
      if (next === undefined) throw refusal(text, what, "ends in a lone backslash");
      // Inside double quotes a backslash escapes only what the shell would let it escape.
      if (quote === '"' && !['"', "\\", "$", "`"].includes(next)) word += c;
      word += next;
      inWord = true;
      i++;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      // A shell ends a command at a line break; split as words, a YAML `|` block of two
      // commands would run as one. A break before the first or after the last word is fine.
      if ((c === "\n" || c === "\r") && words.length > 0) lineBreak = true;
      continue;
    }
    if (OPERATORS.has(c)) {
      // Name the operator as written: "&&", ">>", "$(" rather than its first character.
      let op = c === "(" && word.endsWith("$") ? "$(" : c;
      for (let j = i + 1; op !== "$(" && OPERATORS.has(text[j] as string) && op.length < 3; j++)
        op += text[j];
      throw refusal(text, what, `has shell syntax ${JSON.stringify(op)} but runs without a shell`);
    }
    word += c;
    inWord = true;
  }
  if (quote) throw refusal(text, what, `has an unclosed ${quote}`);
  if (inWord) words.push(word);
  if (words.length === 0) throw refusal(text, what, "is empty");
  return words;
}

function refusal(text: string, what: string, why: string): RefusedError {
  return new RefusedError(
    `${what}: ${shown(text)} ${why}`,
    'write the command as words (python3 manage.py migrate --noinput) or a list; for a shell, say so: ["sh", "-c", "a && b"]',
  );
}
