import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { TailBuffer } from "./output-tail.ts";

// Where an agent's output goes while it runs: all of stdout and stderr to the run's log file, in the order
// read, the tail of stdout to memory for the result, and a short tail of each stream for a failure's
// alert (what the agent printed last, stderr first).

/** How much of each stream's end is kept for a failure's last lines. */
const LAST_WORDS_BYTES = 16 * 1024;

export class OutputLog {
  private error: Error | null = null;
  /** The ends of stdout and stderr, for the last lines a failure shows. */
  readonly lastWords = { stdout: new TailBuffer(LAST_WORDS_BYTES), stderr: new TailBuffer(LAST_WORDS_BYTES) };

  private constructor(
    private readonly log: WriteStream,
    readonly stdoutTail: TailBuffer,
  ) {
    log.on("error", (error) => (this.error ??= error));
  }

  /** Opens (truncates) the log file; fails when it cannot be created. */
  static async open(logPath: string, maxCaptureBytes: number): Promise<OutputLog> {
    const log = createWriteStream(logPath);
    await once(log, "open");
    return new OutputLog(log, new TailBuffer(maxCaptureBytes));
  }

  /** Reads both streams to their end; resolves early only when a stream is destroyed. */
  pump(stdout: Readable | null, stderr: Readable | null): Promise<void> {
    return Promise.all([this.pumpOne(stdout, true), this.pumpOne(stderr, false)]).then(() => undefined);
  }

  /** A line of the runner's own in the log, when the log still takes writes. */
  note(text: string): void {
    if (!this.error) this.log.write(text);
  }

  /** Ends the log (with a last text) and waits until it is flushed and closed. */
  async close(last?: string): Promise<void> {
    this.log.end(last);
    if (this.log.closed) return;
    await once(this.log, "close").catch(() => undefined);
  }

  private async pumpOne(stream: Readable | null, keep: boolean): Promise<void> {
    if (!stream) return;
    try {
      for await (const chunk of stream) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
        if (keep) this.stdoutTail.push(bytes);
        (keep ? this.lastWords.stdout : this.lastWords.stderr).push(bytes);
        // Waiting for the log to drain stops reading, the pipe fills, and the agent blocks on its next write:
        // memory stays bounded however much it prints. A broken log still drains the pipe.
        if (!this.error && !this.log.write(bytes)) await once(this.log, "drain").catch(() => undefined);
      }
    } catch {
      // The stream was destroyed because a process outside the group kept it open; what was read is kept.
    }
  }
}
