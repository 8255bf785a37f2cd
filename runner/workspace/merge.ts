import type { MergeOutcome } from "../../src/app/ports.ts";
import { crashPoint } from "../../src/shared/crash-points.ts";
import { ConflictError, IllegalStateError } from "../../src/shared/errors.ts";
import { committingGit, GitCommandError, isAncestor, nulFields, openGit, readStatus, resolveCommit, type Git } from "./git.ts";
import { deleteTaskBranch } from "./discard.ts";
import { discardedRef, taskBranch, taskBranchRef, worktreePath } from "./names.ts";
import { listWorktrees, mainCommit, openRepo, removeTaskWorktrees, type OpenRepo, type ProjectRef } from "./project.ts";
import { noteRefs } from "./ref-journal.ts";
import { withRepoLock } from "./repo-lock.ts";

export type { MergeOutcome } from "../../src/app/ports.ts";

interface MergeJob {
  repo: OpenRepo;
  taskId: number;
  branchRef: string;
  main: string;
  tip: string;
  message: string;
}

/**
 * Merges `cos/task-<id>` into the main branch with a merge commit, and leaves the branch and worktree for
 * `removeTaskWorkspace` once the approval is recorded (DESIGN §12: an approval survives a crash). The main
 * checkout's files change only by that merge; a conflict or a dirty checkout refuses. Run again after a crash
 * it finds the merge it made and merges nothing: one merge per task.
 */
export async function mergeBranch(project: ProjectRef, taskId: number): Promise<MergeOutcome> {
  const branch = taskBranch(taskId);
  const branchRef = taskBranchRef(taskId);
  const repo = await openRepo(project);

  return withRepoLock(repo.key, async () => {
    const tip = await resolveCommit(repo.git, branchRef);
    if (!tip) throw new IllegalStateError(`task #${taskId} has no branch ${branch} in ${repo.dir}; there is nothing to merge`);
    const main = await mainCommit(repo);
    if (!main) throw new IllegalStateError(`project ${project.name} has no branch ${project.mainBranch} to merge into`);

    const found = (await listWorktrees(repo.git)).find((w) => w.branch === repo.mainRef && !w.bare && !w.prunable);
    const checkout = found ? openGit(found.path) : null;
    const made = await mergeCommitOf(repo.git, tip, main);
    if (made) {
      // An approval merged it and was cut short: found, not merged again, and what its git left half-tidied forgotten.
      if (checkout) await forgetCommittedMerge(checkout);
      return { merged: true, commit: made };
    }
    if (await isAncestor(repo.git, tip, main)) return { merged: true, commit: main }; // nothing beyond main
    const job: MergeJob = { repo, taskId, branchRef, main, tip, message: `Merge task #${taskId} (${branch})` };
    const outcome = checkout ? await mergeInCheckout(job, checkout) : await mergeWithoutCheckout(job);
    crashPoint("merge:git-done");
    if (outcome.merged) noteRefs(repo.key, [{ ref: repo.mainRef, value: outcome.commit }]);
    return outcome;
  });
}

/** The merge commit on the main branch's first-parent line whose second parent is the task branch's tip: the merge an earlier approval made. */
export async function mergedCommit(project: ProjectRef, taskId: number): Promise<string | null> {
  const repo = await openRepo(project);
  const tip = await resolveCommit(repo.git, taskBranchRef(taskId));
  const main = await mainCommit(repo);
  return tip && main ? mergeCommitOf(repo.git, tip, main) : null;
}

async function mergeCommitOf(git: Git, tip: string, main: string): Promise<string | null> {
  if (tip === main || !(await isAncestor(git, tip, main))) return null;
  // The first-parent line from main back to where it first contains the tip: its oldest commit brought the tip in.
  const line = (await git.run(["rev-list", "--first-parent", "--ancestry-path", "--parents", "--reverse", `${tip}..${main}`])).trim().split("\n");
  const [commit, , ...others] = (line[0] ?? "").split(" ");
  return commit && others.includes(tip) ? commit : null;
}

/** Removes the task's worktree and branch once its verdict is recorded, and a kept ref an interrupted discard left. */
export async function removeTaskWorkspace(project: ProjectRef, taskId: number, worktreeRoot: string, keep: "keep-ref" | "drop-kept-ref"): Promise<void> {
  const repo = await openRepo(project);
  await withRepoLock(repo.key, async () => {
    await removeTaskWorktrees(repo, worktreePath(worktreeRoot, taskId), taskBranchRef(taskId));
    await deleteTaskBranch(repo, taskId);
    if (keep === "drop-kept-ref" && (await resolveCommit(repo.git, discardedRef(taskId)))) {
      await repo.git.run(["update-ref", "-d", discardedRef(taskId)]);
      noteRefs(repo.key, [{ ref: discardedRef(taskId), value: null }]);
    }
  });
}

/** Both steps at once: merge, then remove the worktree and branch (for callers with no verdict to record between). */
export async function mergeTask(project: ProjectRef, taskId: number, worktreeRoot: string): Promise<MergeOutcome> {
  const outcome = await mergeBranch(project, taskId);
  if (outcome.merged) await removeTaskWorkspace(project, taskId, worktreeRoot, "drop-kept-ref");
  return outcome;
}

/** The main branch is checked out: merge there, so the checkout's files follow the branch. */
async function mergeInCheckout(job: MergeJob, checkout: Git): Promise<MergeOutcome> {
  const { project } = job.repo;
  await forgetCommittedMerge(checkout);
  if (await resolveCommit(checkout, "MERGE_HEAD")) {
    return refused(`a merge is already in progress in ${checkout.dir}; finish or abort it, then approve again`);
  }
  const dirty = (await readStatus(checkout, "no")).changed;
  if (dirty.length > 0) {
    return refused(
      `the ${project.mainBranch} checkout at ${checkout.dir} has uncommitted changes to ${list(dirty)}; commit or stash them, then approve again`,
    );
  }
  // Conflicts are found without writing a conflicted file into the checkout.
  const preview = await mergeTree(job);
  if (!preview.clean) return conflicted(job, preview.conflicts);

  const merger = committingGit(checkout);
  // Quiet: a git that writes to the pipe of a cos killed meanwhile dies of SIGPIPE after moving the branch,
  // before it tidies up its merge state.
  const merge = await merger.attempt(["merge", "--quiet", "--no-ff", "--no-edit", "-m", job.message, job.branchRef]);
  if (merge.exitCode === 0) return { merged: true, commit: (await checkout.run(["rev-parse", "HEAD"])).trim() };

  if (await resolveCommit(checkout, "MERGE_HEAD")) {
    const conflicts = nulFields(await checkout.run(["diff", "--name-only", "--diff-filter=U", "-z"]));
    await checkout.run(["merge", "--abort"]);
    if (conflicts.length > 0) return conflicted(job, conflicts);
  }
  // Refused before it began, e.g. untracked files in the checkout that the merge would overwrite.
  const said = `${merge.stdout}\n${merge.stderr}`.trim();
  return refused(`git refused to merge ${job.branchRef.slice("refs/heads/".length)} into ${project.mainBranch} at ${checkout.dir}: ${said}`);
}

/**
 * A merge state whose MERGE_HEAD is in HEAD already is not a merge in progress: its commit was made and
 * git was stopped before it removed MERGE_HEAD. Forgotten (`git merge --quit`), touching no file, so the
 * next approval is not refused for it.
 */
async function forgetCommittedMerge(checkout: Git): Promise<void> {
  const merging = await resolveCommit(checkout, "MERGE_HEAD");
  const head = merging ? await resolveCommit(checkout, "HEAD") : null;
  if (merging && head && (await isAncestor(checkout, merging, head))) await checkout.run(["merge", "--quit"]);
}

/** The main branch is not checked out anywhere: build the merge commit and move the ref, touching no files. */
async function mergeWithoutCheckout(job: MergeJob): Promise<MergeOutcome> {
  const { git, mainRef, project } = job.repo;
  const { tree, clean, conflicts } = await mergeTree(job);
  if (!clean) return conflicted(job, conflicts);
  const committer = committingGit(git);
  const commit = (await committer.run(["commit-tree", tree, "-p", job.main, "-p", job.tip, "-m", job.message])).trim();
  const moved = await git.attempt(["update-ref", "-m", job.message, mainRef, commit, job.main]);
  if (moved.exitCode !== 0) {
    throw new ConflictError(`${project.mainBranch} moved while task #${job.taskId} was being merged; approve again`);
  }
  return { merged: true, commit };
}

async function mergeTree(job: MergeJob): Promise<{ tree: string; clean: boolean; conflicts: string[] }> {
  const args = ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", job.main, job.tip];
  const outcome = await job.repo.git.attempt(args);
  if (outcome.exitCode !== 0 && outcome.exitCode !== 1) {
    throw new GitCommandError(args, outcome.exitCode, outcome.stdout, outcome.stderr);
  }
  const [tree = "", ...files] = nulFields(outcome.stdout);
  return { tree, clean: outcome.exitCode === 0, conflicts: [...new Set(files)] };
}

function conflicted(job: MergeJob, conflicts: string[]): MergeOutcome {
  const main = job.repo.project.mainBranch;
  const where = conflicts.length > 0 ? ` in ${list(conflicts)}` : "";
  return {
    merged: false,
    conflicts,
    message: `task #${job.taskId} conflicts with ${main}${where}; send it back to rebase on ${main}`,
  };
}

function refused(message: string): MergeOutcome {
  return { merged: false, conflicts: [], message };
}

function list(files: string[]): string {
  const shown = files.slice(0, 10).join(", ");
  return files.length > 10 ? `${shown} and ${files.length - 10} more` : shown;
}
