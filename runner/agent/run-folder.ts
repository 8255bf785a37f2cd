import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { RunFiles } from "../../src/shared/run-folder.ts";

export { runFiles, type RunFiles } from "../../src/shared/run-folder.ts";

// A run's own folder: the prompt it was given, the result file it may write (COS_RESULT_FILE) and the log
// of everything it printed. The runner keeps it after the run; the log is what a reviewer reads.

/** A result file is the agent's deliberate answer, so it gets more room than stdout, but not unbounded room. */
const MAX_RESULT_FILE_BYTES = 4 * 1024 * 1024;

/** Creates the folder when missing and writes the prompt. */
export function prepareRunFolder(runDir: string, files: RunFiles, prompt: string): void {
  mkdirSync(resolve(runDir), { recursive: true });
  writeFileSync(files.promptFile, prompt);
  // A result left by an earlier run in the same folder must not pass for this run's.
  rmSync(files.resultFile, { force: true });
}

/** The result file's text, or null when the agent did not write it or left it blank. */
export function readResultFile(path: string): string | null {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  let text: string;
  if (size <= MAX_RESULT_FILE_BYTES) {
    text = readFileSync(path, "utf8");
  } else {
    const fd = openSync(path, "r");
    try {
      const head = Buffer.alloc(MAX_RESULT_FILE_BYTES);
      readSync(fd, head, 0, head.length, 0);
      text = `${head.toString("utf8").replace(/\uFFFD$/, "")}\n\n[cos] the result file was cut at ${MAX_RESULT_FILE_BYTES} of ${size} bytes\n`;
    } finally {
      closeSync(fd);
    }
  }
  return text.trim() ? text : null;
}
