import { appendFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "../agent/process-group.ts";

// What cos itself did to a repository's refs, so that a run's ref check (guard.ts) can tell cos's own moves
// from an agent's. A run compares every ref but its task's branch before and after; meanwhile cos may have
// merged another task into main, made or deleted other tasks' branches, kept discarded commits, and other
// tasks' agents may have committed on their own branches. Every such change is noted here by the process
// that made it, whichever process that is, and every run marks itself running while it runs.
//
// It lives in the repository's git dir, in `cos/`, where no sandboxed agent can write: a worktree's agent
// sees the git dir's top read-only, and a direct run gets `cos/` read-only (runner/sandbox/mounts.ts).

export interface RefNote {
  ref: string;
  /** The commit cos set the ref to; null: deleted. */
  value: string | null;
}

type Line = { ref: string; value: string | null } | { run: number; state: "start" | "end" };

export function journalDir(commonDir: string): string {
  return join(commonDir, "cos");
}

function journalFile(commonDir: string): string {
  return join(journalDir(commonDir), "refs.jsonl");
}

function runsDir(commonDir: string): string {
  return join(journalDir(commonDir), "runs");
}

function append(commonDir: string, lines: Line[]): void {
  if (!lines.length) return;
  mkdirSync(journalDir(commonDir), { recursive: true });
  // One write with O_APPEND: lines of concurrent writers never interleave.
  appendFileSync(journalFile(commonDir), lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
}

/** Notes refs cos has just set or deleted in the repository whose git dir is `commonDir`. */
export function noteRefs(commonDir: string, notes: RefNote[]): void {
  append(commonDir, notes.map((n) => ({ ref: n.ref, value: n.value })));
}

/** Where the journal ends now: a run reads what was noted after this. */
export function journalEnd(commonDir: string): number {
  try {
    return statSync(journalFile(commonDir)).size;
  } catch {
    return 0;
  }
}

/** Marks a task's run as running in this repository (its agent may move its own branch meanwhile). */
export function markRunning(commonDir: string, taskId: number): void {
  mkdirSync(runsDir(commonDir), { recursive: true });
  writeFileSync(join(runsDir(commonDir), String(taskId)), `${process.pid}\n`);
  append(commonDir, [{ run: taskId, state: "start" }]);
}

export function markDone(commonDir: string, taskId: number): void {
  rmSync(join(runsDir(commonDir), String(taskId)), { force: true });
  append(commonDir, [{ run: taskId, state: "end" }]);
}

/**
 * Tasks marked running now. A mark names the runner process that made it; a runner killed mid-run leaves
 * its mark behind, and a mark whose process is gone is removed here, so that its task's branch is no longer
 * let move during other runs.
 */
export function runningTasks(commonDir: string): number[] {
  if (!existsSync(runsDir(commonDir))) return [];
  const running: number[] = [];
  for (const name of readdirSync(runsDir(commonDir))) {
    if (!/^[1-9][0-9]*$/.test(name)) continue;
    const mark = join(runsDir(commonDir), name);
    if (markerAlive(mark)) running.push(Number(name));
    else rmSync(mark, { force: true });
  }
  return running;
}

/** Whether the runner process named in a run mark is still there (a mark it cannot read counts as alive). */
function markerAlive(mark: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(mark, "utf8"), 10);
  } catch {
    return true;
  }
  return !Number.isInteger(pid) || pid <= 0 || processAlive(pid);
}

/** What was noted from `offset` on: the last value cos set per ref, and the tasks whose runs started. */
export function readJournal(commonDir: string, offset: number): { refs: Map<string, string | null>; runsStarted: Set<number> } {
  const refs = new Map<string, string | null>();
  const runsStarted = new Set<number>();
  let text = "";
  try {
    const fd = openSync(journalFile(commonDir), "r");
    try {
      const size = statSync(journalFile(commonDir)).size;
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      readSync(fd, buffer, 0, buffer.length, offset);
      text = buffer.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return { refs, runsStarted };
  }
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as Line;
      if ("ref" in entry) refs.set(entry.ref, entry.value);
      else if (entry.state === "start") runsStarted.add(entry.run);
    } catch {
      // a line cut by a crash: nothing of it counts
    }
  }
  return { refs, runsStarted };
}
