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

/** A task's branch and worktree in its project's repository: the git side of a review verdict (DESIGN §7). */
export interface WorkspacePort {
  /**
   * Merges the task's branch into the project's main branch, then removes its worktree and branch. A conflict
   * (or a checkout that cannot take the merge) refuses with `merged: false`, names the files and changes nothing.
   */
  mergeTask(project: ProjectRef, taskId: number): Promise<MergeOutcome>;
  /** Removes the task's worktree and branch, keeping unmerged commits under `refs/cos/discarded/<id>`. */
  discardTask(project: ProjectRef, taskId: number): Promise<{ keptRef: string | null }>;
  /** Where the task's worktree is, or was. */
  worktreePath(taskId: number): string;
  /** The task's patch: its branch against the main branch, or once merged, what its merge commit brought in. */
  taskPatch(project: ProjectRef, taskId: number, mergeCommit: string | null): Promise<string>;
}

/** Builds the port for the configuration openApp has just read. */
export type WorkspacePortFactory = (config: Config) => WorkspacePort;
