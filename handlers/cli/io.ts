import { readFileSync } from "node:fs";

/** What a CLI run talks to; tests pass their own. */
export interface CliIo {
  env: Record<string, string | undefined>;
  cwd: string;
  out(text: string): void;
  err(text: string): void;
  /** The whole of stdin, or null when it is a terminal (nothing piped). */
  readStdin(): Promise<string | null>;
}

export function processIo(): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
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
