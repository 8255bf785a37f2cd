import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DiffStat } from "../../src/domain/task/task.ts";
import { assertNever } from "../../src/domain/events.ts";
import { IllegalStateError, ValidationError } from "../../src/shared/errors.ts";
import { commonDir, committingGit, openGit, parseShortStat, readStatus, retryAfterPrune, type Git } from "./git.ts";
import type { PreparedWorkspace } from "./prepare.ts";
import { withRepoLock } from "./repo-lock.ts";

export interface FinishedWorkspace {
  /** The commit finishing made of what the agent left uncommitted; null when there was nothing. */
  commit: string | null;
  diffStat: DiffStat | null;
}

export async function finishWorkspace(ws: PreparedWorkspace, commitMessage: string): Promise<FinishedWorkspace> {
  switch (ws.kind) {
    case "scratch":
      return { commit: null, diffStat: null };
    case "direct":
      return { commit: null, diffStat: await workingTreeDiffStat(openGit(ws.dir), ws.baseCommit) };
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
    return { commit, diffStat: parseShortStat(await git.run(["diff", "--shortstat", "--find-renames", base, branchRef])) };
  });
}

/**
 * The diff stat of the working tree, untracked files included, against `base`. Counted through a copy of
 * the index so the checkout's own index is left as the agent left it.
 */
async function workingTreeDiffStat(git: Git, base: string | null): Promise<DiffStat> {
  const indexPath = (await git.run(["rev-parse", "--path-format=absolute", "--git-path", "index"])).trim();
  const folder = await mkdtemp(join(tmpdir(), "cos-index-"));
  try {
    const index = join(folder, "index");
    if (existsSync(indexPath)) await copyFile(indexPath, index);
    const counting = openGit(git.dir, { env: { GIT_INDEX_FILE: index } });
    await counting.run(["add", "--all", "--verbose"]);
    const against = base ?? (await emptyTree(git));
    return parseShortStat(await counting.run(["diff", "--cached", "--shortstat", "--find-renames", against]));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function emptyTree(git: Git): Promise<string> {
  return (await git.run(["hash-object", "-t", "tree", "/dev/null"])).trim();
}
