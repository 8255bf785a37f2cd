import { utf8FromTail } from "../../src/shared/log-tail.ts";

// The end of an agent's output: it may print hundreds of megabytes, all of which go to the run's log file,
// while the runner only ever holds (and parses) the last part of it. Reading the end of the log file is
// src/shared/log-tail.ts's, shared with the review pages.

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

export { readLogTail } from "../../src/shared/log-tail.ts";
