import { parse } from "diff2html/lib/diff-parser.js";
import type { DiffFile, DiffLine } from "diff2html/lib/types.js";
import { highlightLines, languageOf } from "./highlight.ts";

// A task's patch as the review page shows it: per file, its hunks and lines with the number a note would
// name, highlighted. diff2html parses the patch (renames, binaries, new and deleted files, "\ No newline");
// the page renders the result itself, phone-first. A phone is not an archive: past a budget of lines,
// files are listed with their counts and left to the raw patch, and very long lines are cut.

/** Lines shown in full across all files; the rest of a big patch is listed, not drawn. */
export const DIFF_LINE_BUDGET = 3000;
/** A line longer than this (a minified file) is cut: the raw patch has it whole. */
export const MAX_LINE_CHARS = 400;
/** Lines highlighted per page: highlighting is most of a big page's server time, so past this lines are plain. */
export const HIGHLIGHT_BUDGET = 1000;

export type LineKind = "add" | "del" | "ctx";

export interface DiffLineView {
  kind: LineKind;
  /** The line's number in the new file, or for a deleted line in the old one. */
  number: number;
  /** Escaped (and highlighted) HTML of the line without its +/−/space. */
  html: string;
}

export interface DiffHunkView {
  header: string;
  lines: DiffLineView[];
}

export interface DiffFileView {
  /** The path now; a deleted file's old path. */
  path: string;
  /** Set when the file was renamed or copied from another path. */
  from: string | null;
  change: "added" | "deleted" | "renamed" | "modified";
  binary: boolean;
  added: number;
  deleted: number;
  hunks: DiffHunkView[];
  /** Why the lines are not shown (over the budget), or null. */
  omitted: string | null;
}

export interface DiffView {
  files: DiffFileView[];
  added: number;
  deleted: number;
}

const stripPrefix = (line: DiffLine) => line.content.slice(1);
const cut = (text: string) => (text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text);

export async function diffView(patch: string, budget = DIFF_LINE_BUDGET): Promise<DiffView> {
  const files: DiffFileView[] = [];
  let left = budget;
  let highlight = HIGHLIGHT_BUDGET;
  for (const file of parse(patch)) {
    const lineCount = file.blocks.reduce((n, b) => n + b.lines.length, 0);
    const shown = lineCount <= left;
    if (shown) left -= lineCount;
    const highlighted = shown && lineCount <= highlight;
    if (highlighted) highlight -= lineCount;
    files.push({
      path: file.isDeleted ? file.oldName : file.newName,
      from: (file.isRename || file.isCopy) && file.oldName !== file.newName ? file.oldName : null,
      change: file.isNew ? "added" : file.isDeleted ? "deleted" : file.isRename ? "renamed" : "modified",
      binary: Boolean(file.isBinary),
      added: file.addedLines,
      deleted: file.deletedLines,
      hunks: shown && !file.isBinary ? await hunksOf(file, highlighted) : [],
      omitted: shown ? null : `${lineCount} lines, past what this page shows at once`,
    });
  }
  return { files, added: files.reduce((n, f) => n + f.added, 0), deleted: files.reduce((n, f) => n + f.deleted, 0) };
}

/**
 * Each hunk highlighted as its two sides: the new side (context and added lines) and the old side (context
 * and deleted lines), each as one text, so that a construct spanning lines is read as one.
 */
async function hunksOf(file: DiffFile, highlighted: boolean): Promise<DiffHunkView[]> {
  const language = highlighted ? await languageOf(file.isDeleted ? file.oldName : file.newName) : null;
  const hunks: DiffHunkView[] = [];
  for (const block of file.blocks) {
    const newSide = block.lines.filter((l) => l.type !== "delete");
    // The old side is drawn only for its deleted lines: without any, it is not highlighted at all.
    const oldSide = block.lines.some((l) => l.type === "delete") ? block.lines.filter((l) => l.type !== "insert") : [];
    const [newHtml, oldHtml] = await Promise.all([
      highlightLines(newSide.map((l) => cut(stripPrefix(l))), language),
      highlightLines(oldSide.map((l) => cut(stripPrefix(l))), language),
    ]);
    let n = 0;
    let o = 0;
    hunks.push({
      header: block.header,
      lines: block.lines.map((line): DiffLineView => {
        if (line.type === "delete") return { kind: "del", number: line.oldNumber, html: oldHtml[o++]! };
        if (line.type === "context") o++;
        return { kind: line.type === "insert" ? "add" : "ctx", number: line.newNumber, html: newHtml[n++]! };
      }),
    });
  }
  return hunks;
}
