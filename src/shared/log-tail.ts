import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";

// The end of a run's log: an agent may print hundreds of megabytes, and whoever reads the log (the runner
// for the result, a review page for a person) wants only its last part.

/** Reads at most the last `maxBytes` of a run's log, starting at a line boundary when one is near. */
export function readLogTail(logPath: string, maxBytes = 1024 * 1024): string {
  if (!existsSync(logPath)) return "";
  const fd = openSync(logPath, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    let text = utf8FromTail(buffer);
    if (length < size) {
      const newline = text.indexOf("\n");
      if (newline >= 0 && newline < 4096) text = text.slice(newline + 1);
    }
    return text;
  } finally {
    closeSync(fd);
  }
}

/** Decodes bytes cut from the end of a stream: a character split by the cut is dropped, not shown as U+FFFD. */
export function utf8FromTail(bytes: Buffer): string {
  let start = 0;
  while (start < bytes.length && start < 4 && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString("utf8");
}
