import { ValidationError } from "../shared/errors.ts";

// A title is one line of plain text (issue 12): no newline, tab or other control character, and none of the
// invisible characters that reorder what a terminal or a chat shows (bidi overrides, line separators). A title
// is printed by the CLI, sent to chat and read by agents; an escape sequence in it could rewrite a terminal,
// and a newline could pass for another line of output.

/** C0 controls, DEL, C1 controls, bidi marks, embeddings, overrides and isolates, line and paragraph separators. */
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

/** `U+001B`. */
export function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Refuses a title that holds a control character, saying which and where. */
export function checkTitleText(title: string, what = "a title"): void {
  const match = CONTROL_CHARACTER.exec(title);
  if (!match) return;
  const char = match[0];
  const at = `at character ${match.index + 1}`;
  throw new ValidationError(
    char === "\n" || char === "\r"
      ? `${what} is one line: it holds a line break ${at}`
      : `${what} cannot hold control characters: it holds ${codePoint(char)} ${at}`,
  );
}
