import type { Config } from "../../src/config/config.ts";
import type { WorkspacePort } from "../../src/app/ports.ts";
import { worktreePath } from "./names.ts";

/**
 * The app's WorkspacePort on real git repositories, with the task worktrees under the configured root. Every
 * `cos` command opens the app with it, so the git modules (and simple-git) load only when a verdict or a
 * patch needs them: a `cos task list` does not pay for them.
 */
export function gitWorkspace(config: Pick<Config, "worktreeRoot">): WorkspacePort {
  const { worktreeRoot } = config;
  return {
    mergeBranch: async (project, taskId) => (await import("./merge.ts")).mergeBranch(project, taskId),
    mergedCommit: async (project, taskId) => (await import("./merge.ts")).mergedCommit(project, taskId),
    keepTask: async (project, taskId) => (await import("./discard.ts")).keepTask(project, taskId),
    removeTask: async (project, taskId, keep) => (await import("./merge.ts")).removeTaskWorkspace(project, taskId, worktreeRoot, keep),
    worktreePath: (taskId) => worktreePath(worktreeRoot, taskId),
    taskPatch: async (project, taskId, mergeCommit) => (await import("./patch.ts")).taskPatch(project, taskId, mergeCommit),
  };
}
