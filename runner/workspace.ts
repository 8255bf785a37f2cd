// Task workspaces (DESIGN §7): a git worktree per code task, the repository itself for `direct`, a scratch
// folder for tasks without a project; merged on approve, kept under a ref on discard, collected by `cos gc`.
export { discardTask, removeWorktree } from "./workspace/discard.ts";
export { finishWorkspace, type FinishedWorkspace } from "./workspace/finish.ts";
export { collectGarbage, type GcReport } from "./workspace/gc.ts";
export { GitCommandError } from "./workspace/git.ts";
export { mergeTask, type MergeOutcome } from "./workspace/merge.ts";
export { discardedRef, taskBranch, worktreePath } from "./workspace/names.ts";
export { gitWorkspace } from "./workspace/port.ts";
export { prepareWorkspace, type PreparedWorkspace, type WorkspaceSpec } from "./workspace/prepare.ts";
export type { ProjectRef } from "./workspace/project.ts";
