import { existsSync, readdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { assertNever } from "../../src/domain/events.ts";
import type { Isolation } from "../../src/domain/task/task.ts";
import { IllegalStateError } from "../../src/shared/errors.ts";
import { mergeBase, resolveCommit, retryAfterPrune } from "./git.ts";
import { checkTaskId, samePath, scratchPath, taskBranch, taskBranchRef, worktreePath } from "./names.ts";
import { listWorktrees, mainCommit, openRepo, pruneStaleWorktrees, type ProjectRef } from "./project.ts";
import { noteRefs } from "./ref-journal.ts";
import { withRepoLock } from "./repo-lock.ts";

export interface WorkspaceSpec {
  taskId: number;
  isolation: Isolation;
  /** null: a scratch folder, for research and content tasks without a project. */
  project: ProjectRef | null;
  worktreeRoot: string;
  /** The scratch folder is `<scratchRoot>/<taskId>`. */
  scratchRoot: string;
}

export interface PreparedWorkspace {
  kind: Isolation | "scratch";
  /** The agent's working directory. */
  dir: string;
  /** `cos/task-<id>` for worktrees. */
  branch: string | null;
  /** The main-branch commit a worktree branched from; HEAD for direct. */
  baseCommit: string | null;
}

export async function prepareWorkspace(spec: WorkspaceSpec): Promise<PreparedWorkspace> {
  checkTaskId(spec.taskId);
  if (spec.project === null) {
    const dir = scratchPath(spec.scratchRoot, spec.taskId);
    await mkdir(dir, { recursive: true });
    return { kind: "scratch", dir, branch: null, baseCommit: null };
  }
  switch (spec.isolation) {
    case "direct": {
      const repo = await openRepo(spec.project);
      return { kind: "direct", dir: repo.dir, branch: null, baseCommit: await resolveCommit(repo.git, "HEAD") };
    }
    case "worktree":
      return prepareWorktree(spec.project, spec.taskId, spec.worktreeRoot);
    default:
      return assertNever(spec.isolation);
  }
}

/** Creates `<worktreeRoot>/<id>` on `cos/task-<id>` from the main branch, or reuses both on a send-back. */
async function prepareWorktree(project: ProjectRef, taskId: number, worktreeRoot: string): Promise<PreparedWorkspace> {
  const path = worktreePath(worktreeRoot, taskId);
  const branch = taskBranch(taskId);
  const branchRef = taskBranchRef(taskId);
  const repo = await openRepo(project);
  await mkdir(resolve(worktreeRoot), { recursive: true });

  return withRepoLock(repo.key, () =>
    retryAfterPrune(repo.git, async () => {
      const main = await mainCommit(repo);
      if (!main) throw new IllegalStateError(`project ${project.name} has no branch ${project.mainBranch} with a commit to branch from`);
      const tip = await resolveCommit(repo.git, branchRef);
      const baseOf = async (commit: string) => (await mergeBase(repo.git, main, commit)) ?? main;

      const worktrees = await listWorktrees(repo.git);
      const here = worktrees.find((w) => !w.main && !w.prunable && samePath(w.path, path));
      if (here) {
        if (here.branch !== branchRef || !tip) {
          throw new IllegalStateError(
            `${path} is a worktree on ${here.branch ?? "a detached HEAD"}, not ${branch}; remove it with cos gc, then dispatch again`,
          );
        }
        return { kind: "worktree", dir: path, branch, baseCommit: await baseOf(tip) };
      }

      await pruneStaleWorktrees(repo.git, worktrees);
      if (existsSync(path) && readdirSync(path).length > 0) {
        throw new IllegalStateError(`${path} exists but is not a worktree of ${repo.dir}; remove it with cos gc, then dispatch again`);
      }
      if (tip) {
        // A send-back whose folder went missing: check the kept branch out again.
        await repo.git.run(["worktree", "add", path, branch]);
        return { kind: "worktree", dir: path, branch, baseCommit: await baseOf(tip) };
      }
      await repo.git.run(["worktree", "add", "-b", branch, path, main]);
      noteRefs(repo.key, [{ ref: branchRef, value: main }]);
      return { kind: "worktree", dir: path, branch, baseCommit: main };
    }),
  );
}
