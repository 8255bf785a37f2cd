import { lstatSync, realpathSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { ValidationError } from "../../src/shared/errors.ts";

export function checkTaskId(taskId: number): void {
  if (!Number.isSafeInteger(taskId) || taskId <= 0) {
    throw new ValidationError(`task id ${String(taskId)} is not a positive whole number`);
  }
}

/** The task's branch: generated from the id, never taken from input. */
export function taskBranch(taskId: number): string {
  checkTaskId(taskId);
  return `cos/task-${taskId}`;
}

export function taskBranchRef(taskId: number): string {
  return `refs/heads/${taskBranch(taskId)}`;
}

/** Where a discarded or collected task's commits are kept. */
export function discardedRef(taskId: number): string {
  checkTaskId(taskId);
  return `refs/cos/discarded/${taskId}`;
}

/** The task id of a `refs/heads/cos/task-<id>` ref, or null for any other ref. */
export function taskIdOfBranchRef(ref: string): number | null {
  const match = /^refs\/heads\/cos\/task-([1-9][0-9]*)$/.exec(ref);
  if (!match) return null;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) ? id : null;
}

/** The task id a folder in the worktree root is named for, or null. */
export function taskIdOfFolderName(name: string): number | null {
  if (!/^[1-9][0-9]*$/.test(name)) return null;
  const id = Number(name);
  return Number.isSafeInteger(id) ? id : null;
}

export function worktreePath(worktreeRoot: string, taskId: number): string {
  return taskFolder(worktreeRoot, taskId, "worktreeRoot");
}

export function scratchPath(scratchRoot: string, taskId: number): string {
  return taskFolder(scratchRoot, taskId, "scratchRoot");
}

/** True when `path` lies strictly below `root` (both already absolute). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** The real path when it exists, else the resolved one: git and the file system may spell a path differently. */
export function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export function samePath(a: string, b: string): boolean {
  return canonicalPath(a) === canonicalPath(b);
}

function taskFolder(root: string, taskId: number, label: string): string {
  checkTaskId(taskId);
  if (!isAbsolute(root)) throw new ValidationError(`${label} must be an absolute path, not "${root}"`);
  const base = resolve(root);
  const path = join(base, String(taskId));
  if (!isInside(base, path)) throw new ValidationError(`the folder for task #${taskId} would lie outside ${label} ${base}`);
  const existing = lstatSync(path, { throwIfNoEntry: false });
  if (existing?.isSymbolicLink()) {
    throw new ValidationError(`${path} is a symbolic link; a task's folder must be a real folder inside ${label} ${base}`);
  }
  if (existing && !isInside(canonicalPath(base), canonicalPath(path))) {
    throw new ValidationError(`${path} resolves outside ${label} ${base}`);
  }
  return path;
}
