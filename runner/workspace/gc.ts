import { existsSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, isAbsolute, join, resolve } from "node:path";
import { ValidationError } from "../../src/shared/errors.ts";
import { retryAfterPrune } from "./git.ts";
import { deleteTaskBranch, keepUnmergedCommits, unmergedTip } from "./discard.ts";
import { canonicalPath, discardedRef, isInside, taskIdOfBranchRef, taskIdOfFolderName } from "./names.ts";
import { foreignGitDir, listWorktrees, openRepo, pruneStaleWorktrees, type OpenRepo, type ProjectRef } from "./project.ts";
import { withRepoLocks } from "./repo-lock.ts";

export interface GcReport {
  removed: { path: string; reason: string }[];
  kept: { path: string; reason: string }[];
}

interface Sweep {
  root: string;
  keep: ReadonlySet<number>;
  dryRun: boolean;
  report: GcReport;
  /** Canonical paths already reported, so the folder pass does not report them again. */
  seen: Set<string>;
}

/**
 * Frees what finished tasks left behind: task worktrees and branches whose task is not in `keepTaskIds`
 * (unmerged commits kept under `refs/cos/discarded/<id>`), stale registrations, and folders in the worktree
 * root that no repository has registered. With `dryRun` it only reports.
 */
export async function collectGarbage(
  projects: ProjectRef[],
  worktreeRoot: string,
  keepTaskIds: ReadonlySet<number>,
  options: { dryRun: boolean },
): Promise<GcReport> {
  if (!isAbsolute(worktreeRoot)) throw new ValidationError(`worktreeRoot must be an absolute path, not "${worktreeRoot}"`);
  const repos: OpenRepo[] = [];
  for (const project of projects) {
    const repo = await openRepo(project);
    if (!repos.some((r) => r.key === repo.key)) repos.push(repo);
  }
  const sweep: Sweep = {
    root: canonicalPath(resolve(worktreeRoot)),
    keep: keepTaskIds,
    dryRun: options.dryRun,
    report: { removed: [], kept: [] },
    seen: new Set(),
  };
  // Every lock at once: a folder being added by a prepare must not look like a leftover.
  return withRepoLocks(
    repos.map((r) => r.key),
    async () => {
      for (const repo of repos) await sweepRepo(repo, sweep);
      await sweepFolders(repos, sweep);
      return sweep.report;
    },
  );
}

async function sweepRepo(repo: OpenRepo, sweep: Sweep): Promise<void> {
  const { report, keep, dryRun } = sweep;
  const branchesInUse = new Set<string>();
  const worktrees = await listWorktrees(repo.git);

  for (const worktree of worktrees) {
    if (worktree.main) continue;
    const path = canonicalPath(worktree.path);
    const inRoot = isInside(sweep.root, path);
    const taskId = (worktree.branch ? taskIdOfBranchRef(worktree.branch) : null) ?? (inRoot ? taskIdOfFolderName(basename(path)) : null);
    if (taskId === null) {
      if (worktree.branch) branchesInUse.add(worktree.branch);
      if (inRoot) {
        report.kept.push({ path: worktree.path, reason: `a worktree of ${repo.dir} that belongs to no task` });
        sweep.seen.add(path);
      }
      continue;
    }
    sweep.seen.add(path);
    if (worktree.prunable) {
      report.removed.push({ path: worktree.path, reason: `registered in ${repo.dir} but its folder is gone` });
      continue;
    }
    if (keep.has(taskId)) {
      if (worktree.branch) branchesInUse.add(worktree.branch);
      report.kept.push({ path: worktree.path, reason: `task #${taskId} is open` });
      continue;
    }
    const unmerged = await unmergedTip(repo, taskId);
    report.removed.push({ path: worktree.path, reason: notOpen(taskId, unmerged !== null) });
    if (dryRun) continue;
    await keepUnmergedCommits(repo, taskId);
    const force = worktree.locked ? ["--force", "--force"] : ["--force"];
    await retryAfterPrune(repo.git, () => repo.git.run(["worktree", "remove", ...force, worktree.path]));
  }

  // Before the branches: a stale registration still holds its branch checked out.
  if (!dryRun) await pruneStaleWorktrees(repo.git, worktrees);

  const branches = (await repo.git.run(["for-each-ref", "--format=%(refname)", "refs/heads/cos/"])).split("\n");
  for (const ref of branches) {
    const taskId = taskIdOfBranchRef(ref);
    if (taskId === null) continue;
    const label = `${repo.dir} (branch ${ref.slice("refs/heads/".length)})`;
    if (keep.has(taskId)) {
      if (!branchesInUse.has(ref)) report.kept.push({ path: label, reason: `task #${taskId} is open` });
      continue;
    }
    if (branchesInUse.has(ref)) {
      report.kept.push({ path: label, reason: `checked out in a worktree that is kept` });
      continue;
    }
    const unmerged = await unmergedTip(repo, taskId);
    report.removed.push({ path: label, reason: notOpen(taskId, unmerged !== null) });
    if (dryRun) continue;
    await keepUnmergedCommits(repo, taskId);
    await deleteTaskBranch(repo, taskId);
  }

}

async function sweepFolders(repos: OpenRepo[], sweep: Sweep): Promise<void> {
  if (!existsSync(sweep.root)) return;
  const registered = new Set<string>();
  for (const repo of repos) {
    for (const worktree of await listWorktrees(repo.git)) registered.add(canonicalPath(worktree.path));
  }
  for (const entry of readdirSync(sweep.root, { withFileTypes: true })) {
    const path = join(sweep.root, entry.name);
    if (sweep.seen.has(path) || registered.has(path)) continue;
    if (!entry.isDirectory() && !entry.isSymbolicLink()) {
      sweep.report.kept.push({ path, reason: "not a folder" });
      continue;
    }
    const foreign = entry.isDirectory() ? foreignGitDir(path, repos.map((r) => r.key)) : null;
    if (foreign) {
      sweep.report.kept.push({ path, reason: `a checkout of another repository (${foreign})` });
      continue;
    }
    sweep.report.removed.push({ path, reason: "not a registered worktree" });
    if (!sweep.dryRun) await rm(path, { recursive: true, force: true });
  }
}

function notOpen(taskId: number, unmerged: boolean): string {
  return unmerged ? `task #${taskId} is not open; its commits are kept under ${discardedRef(taskId)}` : `task #${taskId} is not open`;
}
