import { isAncestor, resolveCommit } from "./git.ts";
import { discardedRef, taskBranch, taskBranchRef, worktreePath } from "./names.ts";
import { mainCommit, openRepo, removeTaskWorktrees, type OpenRepo, type ProjectRef } from "./project.ts";
import { noteRefs } from "./ref-journal.ts";
import { withRepoLock } from "./repo-lock.ts";

/** Keeps the task branch's unmerged commits under `refs/cos/discarded/<id>`; the branch and worktree stay. Run again, it keeps the same. */
export async function keepTask(project: ProjectRef, taskId: number): Promise<{ keptRef: string | null }> {
  const repo = await openRepo(project);
  return withRepoLock(repo.key, async () => ({ keptRef: await keepUnmergedCommits(repo, taskId) }));
}

/** Removes the task's worktree and branch, keeping unmerged commits under `refs/cos/discarded/<id>`. */
export async function discardTask(project: ProjectRef, taskId: number, worktreeRoot: string): Promise<{ keptRef: string | null }> {
  const path = worktreePath(worktreeRoot, taskId);
  const repo = await openRepo(project);
  return withRepoLock(repo.key, async () => {
    const keptRef = await keepUnmergedCommits(repo, taskId);
    await removeTaskWorktrees(repo, path, taskBranchRef(taskId));
    await deleteTaskBranch(repo, taskId);
    return { keptRef };
  });
}

/** Removes the task's worktree (and a leftover folder in its place); the branch stays. */
export async function removeWorktree(project: ProjectRef, taskId: number, worktreeRoot: string): Promise<void> {
  const path = worktreePath(worktreeRoot, taskId);
  const repo = await openRepo(project);
  await withRepoLock(repo.key, () => removeTaskWorktrees(repo, path, taskBranchRef(taskId)));
}

/**
 * Points `refs/cos/discarded/<id>` at the task branch when it has commits the main branch lacks.
 * Returns that ref, or null when there was nothing to keep. Call with the repository's lock held.
 */
export async function keepUnmergedCommits(repo: OpenRepo, taskId: number): Promise<string | null> {
  const ref = discardedRef(taskId);
  const tip = await unmergedTip(repo, taskId);
  // The branch already gone: a discard cut short after it kept the commits and removed the branch.
  if (!tip) return !(await resolveCommit(repo.git, taskBranchRef(taskId))) && (await resolveCommit(repo.git, ref)) ? ref : null;
  await repo.git.run(["update-ref", "-m", `cos: keep ${taskBranch(taskId)}`, ref, tip]);
  noteRefs(repo.key, [{ ref, value: tip }]);
  return ref;
}

/** The task branch's tip when it has commits the main branch lacks, else null. */
export async function unmergedTip(repo: OpenRepo, taskId: number): Promise<string | null> {
  const tip = await resolveCommit(repo.git, taskBranchRef(taskId));
  if (!tip) return null;
  const main = await mainCommit(repo);
  return main && (await isAncestor(repo.git, tip, main)) ? null : tip;
}

export async function deleteTaskBranch(repo: OpenRepo, taskId: number): Promise<void> {
  if (await resolveCommit(repo.git, taskBranchRef(taskId))) {
    await repo.git.run(["branch", "--delete", "--force", taskBranch(taskId)]);
    noteRefs(repo.key, [{ ref: taskBranchRef(taskId), value: null }]);
  }
}
