import type { Config } from "../config/config.ts";

// What the app reaches outside its store through the context: here the shape the commands need, named in
// their terms; the adapters in runner/ build it, and every entry point passes one to openApp. The commands
// never learn how (git, which folders), and src/ never imports an adapter.

/** A configured project's repository. */
export interface ProjectRef {
  name: string;
  repo: string;
  mainBranch: string;
}

export type MergeOutcome = { merged: true; commit: string } | { merged: false; conflicts: string[]; message: string };

/**
 * A task's branch and worktree in its project's repository: the git side of a review verdict (DESIGN §7). Each
 * step can be run again after a crash and does what is left of it (DESIGN §12), so a verdict is recorded
 * between the git steps: merge, record, remove.
 */
export interface WorkspacePort {
  /**
   * Merges the task's branch into the project's main branch, leaving the branch and worktree. A conflict (or a
   * checkout that cannot take the merge) refuses with `merged: false`, names the files and changes nothing. A
   * merge an interrupted approval made already is found and returned, never made twice.
   */
  mergeBranch(project: ProjectRef, taskId: number): Promise<MergeOutcome>;
  /** The merge commit that brought the task's branch into main, when an approval made one that was not recorded. */
  mergedCommit(project: ProjectRef, taskId: number): Promise<string | null>;
  /** Keeps the branch's unmerged commits under `refs/cos/discarded/<id>` (null: nothing to keep). */
  keepTask(project: ProjectRef, taskId: number): Promise<{ keptRef: string | null }>;
  /** Removes the task's worktree and branch once its verdict is recorded; an approval also drops a kept ref. */
  removeTask(project: ProjectRef, taskId: number, keep: "keep-ref" | "drop-kept-ref"): Promise<void>;
  /** Where the task's worktree is, or was. */
  worktreePath(taskId: number): string;
  /** The task's patch: its branch against the main branch, or once merged, what its merge commit brought in. */
  taskPatch(project: ProjectRef, taskId: number, mergeCommit: string | null): Promise<string>;
}

/** Builds the port for the configuration openApp has just read. */
export type WorkspacePortFactory = (config: Config) => WorkspacePort;
