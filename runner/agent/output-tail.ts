import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";

// The end of an agent's output: it may print hundreds of megabytes, all of which go to the run's log file,
// while the runner only ever holds (and parses) the last part of it.

/** Keeps the last `cap` bytes of a stream without ever holding more than `cap` plus one chunk. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    if (this.cap === 0) return;
    if (chunk.length >= this.cap) {
      // A copy, so the big chunk behind the slice can be freed.
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.cap))];
      this.size = this.cap;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.cap) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks, this.size);
    return utf8FromTail(all.length > this.cap ? all.subarray(all.length - this.cap) : all);
  }
}

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
function utf8FromTail(bytes: Buffer): string {
  let start = 0;
  while (start < bytes.length && start < 4 && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString("utf8");
}
