import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";

/** What a CLI run talks to; tests pass their own. */
export interface CliIo {
  env: Record<string, string | undefined>;
  cwd: string;
  out(text: string): void;
  err(text: string): void;
  /** The whole of stdin, or null when it is a terminal (nothing piped). */
  readStdin(): Promise<string | null>;
  /** Set when a person watches stderr (a terminal): long commands show their progress there. */
  progress?: (line: string | null) => void;
}

/** The process environment over a `.env` file in the working folder: a variable already set wins. */
export function environment(cwd = process.cwd()): Record<string, string | undefined> {
  const file = join(cwd, ".env");
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, "utf8")) : {};
  return { ...fromFile, ...process.env };
}

export function processIo(): CliIo {
  // Output piped into something that stops reading (`cos demo | head`) is a reader that left, not an
  // error: the rest of the output is dropped and the command ends normally, without a stack trace.
  let readerLeft = false;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") readerLeft = true;
    else throw error;
  });
  return {
    env: environment(),
    cwd: process.cwd(),
    out: (text) => {
      if (!readerLeft) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    },
    ...(process.stderr.isTTY ? { progress: terminalProgress() } : {}),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    readStdin: async () => {
      if (process.stdin.isTTY) return null;
      try {
        return readFileSync(0, "utf8");
      } catch {
        return null;
      }
    },
  };
}

/** One line on the terminal that each step overwrites; null clears it. */
function terminalProgress(): (line: string | null) => void {
  let shown = false;
  return (line) => {
    if (line === null) {
      if (shown) process.stderr.write("\r\u001b[2K");
      shown = false;
      return;
    }
    const width = Math.max(20, (process.stderr.columns || 80) - 1);
    process.stderr.write(`\r\u001b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    shown = true;
  };
}
