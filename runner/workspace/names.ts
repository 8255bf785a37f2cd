import { lstatSync, realpathSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { ValidationError } from "../../src/shared/errors.ts";
import { checkTaskId } from "../../src/domain/task/refs.ts";

export { checkTaskId, discardedRef, taskBranch, taskBranchRef, taskIdOfBranchRef } from "../../src/domain/task/refs.ts";

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
