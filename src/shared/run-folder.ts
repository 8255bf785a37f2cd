import { dirname, join, resolve } from "node:path";
import type { Config } from "../config/config.ts";

// Where ChiefOfStaff keeps its own files: the data folder (beside the worktrees, `./data` by default) and in
// it one folder per run with the prompt the agent was given, the result file it may write and the log of
// everything it printed. The runner writes them; the review pages read them.

/** Runs, pids, scratch folders and the link secret live beside the worktrees: `./data` by default. */
export function dataDirOf(config: Pick<Config, "worktreeRoot">): string {
  return dirname(config.worktreeRoot);
}

/** Which run of a task: its attempt, and the try of that attempt (a usage limit or an unclaimed dispatch runs an attempt again). */
export interface RunRef {
  taskId: number;
  attempt: number;
  /** 1 for the first; absent on servers before tries were counted. */
  try?: number | undefined;
}

/**
 * A run's folder under runs/: `<task>-<attempt>`, and `<task>-<attempt>.<try>` for the tries after the first of
 * one attempt, so no try overwrites another's log.
 */
export function runFolderName(run: RunRef): string {
  const tried = run.try ?? 1;
  return tried > 1 ? `${run.taskId}-${run.attempt}.${tried}` : `${run.taskId}-${run.attempt}`;
}

/** `<dataDir>/runs/<task>-<attempt>[.<try>]`. */
export function runDirOf(dataDir: string, run: RunRef): string {
  return join(dataDir, "runs", runFolderName(run));
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
