import { dirname, join, resolve } from "node:path";
import type { Config } from "../config/config.ts";

// Where ChiefOfStaff keeps its own files: the data folder (beside the worktrees, `./data` by default) and in
// it one folder per run with the prompt the agent was given, the result file it may write and the log of
// everything it printed. The runner writes them; the review pages read them.

/** Runs, pids, scratch folders and the link secret live beside the worktrees: `./data` by default. */
export function dataDirOf(config: Pick<Config, "worktreeRoot">): string {
  return dirname(config.worktreeRoot);
}

/** `<dataDir>/runs/<task>-<attempt>`. */
export function runDirOf(dataDir: string, taskId: number, attempt: number): string {
  return join(dataDir, "runs", `${taskId}-${attempt}`);
}

export interface RunFiles {
  promptFile: string;
  resultFile: string;
  logPath: string;
}

export function runFiles(runDir: string): RunFiles {
  const dir = resolve(runDir);
  return { promptFile: join(dir, "prompt.md"), resultFile: join(dir, "result.md"), logPath: join(dir, "output.log") };
}
