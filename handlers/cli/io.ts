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
}

/** The process environment over a `.env` file in the working folder: a variable already set wins. */
export function environment(cwd = process.cwd()): Record<string, string | undefined> {
  const file = join(cwd, ".env");
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, "utf8")) : {};
  return { ...fromFile, ...process.env };
}

export function processIo(): CliIo {
  return {
    env: environment(),
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
