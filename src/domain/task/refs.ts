import { ValidationError } from "../../shared/errors.ts";

// The git names a task owns (DESIGN §7): generated from its id, never taken from input. Every module
// that names a task's branch or kept ref (workspaces, views, chat, pages) takes it from here.

export function checkTaskId(taskId: number): void {
  if (!Number.isSafeInteger(taskId) || taskId <= 0) {
    throw new ValidationError(`task id ${String(taskId)} is not a positive whole number`);
  }
}

/** The task's branch: `cos/task-<id>`. */
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
