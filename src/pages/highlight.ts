import type { HLJSApi } from "highlight.js";

// Syntax highlighting for the review pages, done on the server so the phone gets plain HTML and CSS and
// runs no highlighter. highlight.js (the highlighter diff2html's own UI uses) is loaded on the first page
// that needs it, with its common languages. It highlights a hunk's side as one text, so a comment or
// string spanning lines is coloured across them, and the result is cut back into lines whose spans are
// each closed and reopened. Without highlight.js the lines are only escaped.

let loading: Promise<HLJSApi | null> | null = null;

/** Loads highlight.js (with its common languages) once; a server calls it at start so no page waits for it. */
export function highlighter(): Promise<HLJSApi | null> {
  loading ??= import("highlight.js/lib/common").then(
    (m) => ((m as { default?: HLJSApi }).default ?? (m as unknown as HLJSApi)) as HLJSApi,
    () => null,
  );
  return loading;
}

/** The languages most diffs are in: readied when `cos serve` starts, not by the first page that needs them. */
const USUAL_LANGUAGES = ["typescript", "javascript", "json", "css", "markdown", "xml", "yaml", "python", "bash", "go", "rust", "sql"];
/** V8 compiles a regular expression to machine code only once it has run a while: a warm-up of a few hundred lines does that. */
const WARM_REPEAT = 60;
const SAMPLE = 'import { a } from "./b"; // note\nexport const x = { "k": [1, 2.5, true, null] } /* c */;\nfunction f(y) { return `t${y}`; }\n# Title **b** [l](u)\n<p class="x">&amp;</p>\n';

/**
 * Loads highlight.js and runs the usual languages over a sample: highlight.js compiles a grammar the first
 * time it is used, and V8 its regular expressions once they are hot, which otherwise costs the first page
 * with a big diff a few hundred milliseconds. One language a turn of the event loop, so that a request
 * arriving meanwhile is not held up.
 */
export function warmHighlighter(): Promise<void> {
  warming ??= (async () => {
    const hljs = await highlighter();
    if (!hljs) return;
    for (const language of USUAL_LANGUAGES) {
      await new Promise((done) => setImmediate(done));
      if (hljs.getLanguage(language)) hljs.highlight(SAMPLE.repeat(WARM_REPEAT), { language, ignoreIllegals: true });
    }
  })();
  return warming;
}

let warming: Promise<void> | null = null;

/** Extensions and names highlight.js does not know by themselves. */
const ALIASES: Record<string, string> = { mdx: "markdown", svelte: "xml", vue: "xml", toml: "ini", jsonc: "json", makefile: "makefile" };

/** The highlight.js language of a file, by its name; null for anything it does not know (shown plain). */
export async function languageOf(path: string): Promise<string | null> {
  const hljs = await highlighter();
  if (!hljs) return null;
  const name = path.split("/").at(-1)!.toLowerCase();
  const ext = name.includes(".") ? name.split(".").at(-1)! : name;
  const candidate = ALIASES[ext] ?? ext;
  return hljs.getLanguage(candidate) ? candidate : null;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

/** `lines` as HTML, one string per line: highlighted in `language` as one text, or escaped when null. */
export async function highlightLines(lines: string[], language: string | null): Promise<string[]> {
  const hljs = language ? await highlighter() : null;
  if (!hljs || !language || !lines.length) return lines.map(escapeHtml);
  try {
    const html = hljs.highlight(lines.join("\n"), { language, ignoreIllegals: true }).value;
    const split = splitHighlighted(html);
    return split.length === lines.length ? split : lines.map(escapeHtml);
  } catch {
    return lines.map(escapeHtml);
  }
}

/** Cuts highlight.js's HTML at its newlines; a span open across a cut is closed before it and reopened after. */
export function splitHighlighted(html: string): string[] {
  const lines: string[] = [];
  const open: string[] = [];
  let current = "";
  let last = 0;
  for (const m of html.matchAll(/(<span[^>]*>)|(<\/span>)|\n/g)) {
    current += html.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[1]) {
      open.push(m[1]);
      current += m[1];
    } else if (m[2]) {
      open.pop();
      current += m[2];
    } else {
      lines.push(current + "</span>".repeat(open.length));
      current = open.join("");
    }
  }
  lines.push(current + html.slice(last));
  return lines;
}
