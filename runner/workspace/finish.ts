import { existsSync } from "node:fs";
import type { ChangedPath } from "../../src/domain/task/flags.ts";
import type { DiffStat } from "../../src/domain/task/task.ts";
import { assertNever } from "../../src/domain/events.ts";
import { IllegalStateError, ValidationError } from "../../src/shared/errors.ts";
import { commonDir, committingGit, openGit, readStatus, retryAfterPrune, type Git } from "./git.ts";
import type { PreparedWorkspace } from "./prepare.ts";
import { withRepoLock } from "./repo-lock.ts";
import { changesBetween, withWorkingTreeIndex } from "./work-tree.ts";

export interface FinishedWorkspace {
  /** The commit finishing made of what the agent left uncommitted; null when there was nothing. */
  commit: string | null;
  diffStat: DiffStat | null;
  /** The paths changed against the base (at most MAX_CHANGED_PATHS), for the review flags; null for a scratch folder. */
  changes: ChangedPath[] | null;
}

export async function finishWorkspace(ws: PreparedWorkspace, commitMessage: string): Promise<FinishedWorkspace> {
  switch (ws.kind) {
    case "scratch":
      return { commit: null, diffStat: null, changes: null };
    case "direct":
      return { commit: null, ...(await workingTreeChanges(openGit(ws.dir), ws.baseCommit)) };
    case "worktree":
      return finishWorktree(ws, commitMessage);
    default:
      return assertNever(ws.kind);
  }
}

async function finishWorktree(ws: PreparedWorkspace, commitMessage: string): Promise<FinishedWorkspace> {
  if (!ws.branch) throw new ValidationError(`the worktree ${ws.dir} has no task branch`);
  if (!existsSync(ws.dir)) throw new IllegalStateError(`the worktree ${ws.dir} is gone; nothing to commit`);
  const branchRef = `refs/heads/${ws.branch}`;
  const git = openGit(ws.dir);

  return withRepoLock(await commonDir(git), async () => {
    const status = await readStatus(git, "all");
    if (status.head !== ws.branch) {
      throw new IllegalStateError(
        `the worktree ${ws.dir} is on ${status.head ?? "a detached HEAD"}, not ${ws.branch}; check ${ws.branch} out there, then report again`,
      );
    }
    let commit: string | null = null;
    if (status.changed.length > 0) {
      await retryAfterPrune(git, () => git.run(["add", "--all", "--verbose"]));
      const staged = await git.run(["diff", "--cached", "--name-only", "-z"]);
      if (staged.length > 0) {
        const committer = committingGit(git);
        const message = commitMessage.trim() || `Work left uncommitted on ${ws.branch}`;
        // The agent's work is recorded as it was left; review comes after, so the repository's commit hooks do not run.
        await retryAfterPrune(git, () => committer.run(["commit", "--no-verify", "-m", message]));
        commit = (await git.run(["rev-parse", "HEAD"])).trim();
      }
    }
    const base = ws.baseCommit ?? (await emptyTree(git));
    return { commit, ...(await changesBetween(git, [base, branchRef])) };
  });
}

/** The changes of the working tree, untracked files included, against `base`; the checkout's own index is left as it is. */
async function workingTreeChanges(git: Git, base: string | null): Promise<{ diffStat: DiffStat; changes: ChangedPath[] }> {
  return withWorkingTreeIndex(git, async (staged) => changesBetween(staged, ["--cached", base ?? (await emptyTree(git))]));
}

async function emptyTree(git: Git): Promise<string> {
  return (await git.run(["hash-object", "-t", "tree", "/dev/null"])).trim();
}
