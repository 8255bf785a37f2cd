// Reading the JSON that CLIs print: one document at the end (Claude Code, Gemini), or one event per line
// (Codex with --json). Output is often cut or interleaved with progress text, so every reader here tolerates
// lines that only look like JSON.

export type Json = Record<string, unknown>;

/**
 * The stdout a CLI that prints its result inside one JSON document needs kept: all of it, since a tail
 * would cut the document's start (a preset's captureBytes).
 */
export const WHOLE_DOCUMENT_BYTES = 8 * 1024 * 1024;

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The last JSON object that starts at the beginning of a line (compact or pretty-printed) and passes `accept`,
 * searched in each text in turn. Objects nested inside others start indented, so they are not candidates.
 */
export function lastJsonObject(texts: string[], accept: (o: Json) => boolean): Json | null {
  for (const text of texts) {
    let tries = 0;
    for (let start = text.lastIndexOf("\n{"); tries < 64; start = text.lastIndexOf("\n{", start - 1)) {
      const at = start < 0 ? 0 : start + 1;
      if (text[at] === "{") {
        tries++;
        const parsed = parseObjectAt(text, at);
        if (parsed && accept(parsed)) return parsed;
      }
      if (start <= 0) break;
    }
  }
  return null;
}

/** The object starting at `start`, parsed, or null when it is cut off or not JSON after all. */
export function parseObjectAt(text: string, start: number): Json | null {
  const body = objectAt(text, start);
  if (!body) return null;
  try {
    const parsed: unknown = JSON.parse(body);
    return isObject(parsed) ? parsed : null;
  } catch {
    return null; // a line that only looks like JSON
  }
}

/** The JSON objects printed one per line, in order. */
export function jsonLines(text: string): Json[] {
  const events: Json[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) continue;
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (isObject(parsed)) events.push(parsed);
    } catch {
      // not an event
    }
  }
  return events;
}

/** Whichever of stdout and the log holds what `has` looks for; stdout first, it is not interleaved with stderr. */
export function pickText(output: string, log: string, has: (o: Json) => boolean): string {
  return jsonLines(output).some(has) ? output : log;
}

/** The text of the object starting at `start`, up to its matching brace (strings respected), or null when cut off. */
function objectAt(text: string, start: number): string | null {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92) escaped = true;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123) depth++;
    else if (c === 125 && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}
