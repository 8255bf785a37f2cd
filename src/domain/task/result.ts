import type { ResultSections } from "./task.ts";

const SECTIONS: Record<string, keyof ResultSections> = {
  summary: "summary",
  handoff: "handoff",
  "what worked": "whatWorked",
  "reusable pattern": "reusablePattern",
};

/**
 * Splits an agent's Markdown result into the `##` sections of DESIGN §7 (case-insensitive). Text outside
 * them is the summary when there is no Summary section; a result without any is kept whole as the summary.
 */
export function parseResultSections(markdown: string): ResultSections {
  const text = markdown.replace(/\r\n?/g, "\n");
  const found: Partial<Record<keyof ResultSections, string[]>> = {};
  const rest: string[] = [];
  let current: string[] = rest;
  for (const line of text.split("\n")) {
    const heading = /^##\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading) {
      const key = SECTIONS[heading[1]!.trim().toLowerCase().replace(/\s+/g, " ").replace(/:$/, "")];
      if (key) {
        current = found[key] ??= [];
        continue;
      }
      current = rest;
    }
    current.push(line);
  }
  const clean = (lines: string[] | undefined) => {
    const value = lines?.join("\n").trim();
    return value ? value : null;
  };
  if (Object.keys(found).length === 0) return { summary: text.trim(), handoff: null, whatWorked: null, reusablePattern: null };
  return {
    summary: clean(found.summary) ?? clean(rest) ?? "",
    handoff: clean(found.handoff),
    whatWorked: clean(found.whatWorked),
    reusablePattern: clean(found.reusablePattern),
  };
}
