import { existsSync, readFileSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { ValidationError } from "../../src/shared/errors.ts";
import { commonDir, nulFields, openGit, resolveCommit, retryAfterPrune, type Git } from "./git.ts";
import { canonicalPath, isInside, samePath } from "./names.ts";
import type { ProjectRef } from "../../src/app/ports.ts";

export type { ProjectRef } from "../../src/app/ports.ts";

/** A project's repository, opened and checked. `key` names its lock. */
export interface OpenRepo {
  project: ProjectRef;
  dir: string;
  git: Git;
  key: string;
  mainRef: string;
}

export async function openRepo(project: ProjectRef): Promise<OpenRepo> {
  const dir = resolve(project.repo);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ValidationError(`project ${project.name}: repository ${dir} does not exist`);
  }
  const git = openGit(dir);
  const inside = await git.attempt(["rev-parse", "--is-inside-work-tree"]);
  if (inside.exitCode !== 0) throw new ValidationError(`project ${project.name}: ${dir} is not a git repository`);
  // The main branch comes from config: refuse anything git would read as an option or a revision expression.
  const format = await git.attempt(["check-ref-format", "--normalize", `refs/heads/${project.mainBranch}`]);
  if (project.mainBranch.startsWith("-") || format.exitCode !== 0) {
    throw new ValidationError(`project ${project.name}: mainBranch "${project.mainBranch}" is not a valid branch name`);
  }
  return { project, dir, git, key: await commonDir(git), mainRef: `refs/heads/${project.mainBranch}` };
}

export async function mainCommit(repo: OpenRepo): Promise<string | null> {
  return resolveCommit(repo.git, repo.mainRef);
}

export interface WorktreeEntry {
  path: string;
  head: string | null;
  /** The full ref (`refs/heads/…`), or null when detached or bare. */
  branch: string | null;
  main: boolean;
  bare: boolean;
  locked: boolean;
  /** Registered, but its folder is gone: `git worktree prune` drops it. */
  prunable: boolean;
}

export async function listWorktrees(git: Git): Promise<WorktreeEntry[]> {
  const entries: WorktreeEntry[] = [];
  for (const line of nulFields(await git.run(["worktree", "list", "--porcelain", "-z"]))) {
    const space = line.indexOf(" ");
    const label = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? "" : line.slice(space + 1);
    if (label === "worktree") {
      entries.push({ path: value, head: null, branch: null, main: entries.length === 0, bare: false, locked: false, prunable: false });
      continue;
    }
    const entry = entries[entries.length - 1];
    if (!entry) continue;
    if (label === "HEAD") entry.head = value;
    else if (label === "branch") entry.branch = value;
    else if (label === "bare") entry.bare = true;
    else if (label === "locked") entry.locked = true;
    else if (label === "prunable") entry.prunable = true;
  }
  return entries;
}

/**
 * `git worktree prune` when the list shows a registration whose folder is gone: such an entry blocks adding a
 * worktree at its path or on its branch. (Pruning unconditionally would cost simple-git's 50 ms wait for a
 * command that prints nothing.)
 */
export async function pruneStaleWorktrees(git: Git, worktrees: readonly WorktreeEntry[]): Promise<boolean> {
  if (!worktrees.some((w) => w.prunable)) return false;
  await git.run(["worktree", "prune"]);
  return true;
}

/**
 * Removes the linked worktrees at `path` or on `branchRef` (never the main checkout), and a leftover folder
 * at `path` that no repository claims. Call with the repository's lock held.
 */
export async function removeTaskWorktrees(repo: OpenRepo, path: string, branchRef: string): Promise<string[]> {
  const removed: string[] = [];
  const worktrees = await listWorktrees(repo.git);
  await pruneStaleWorktrees(repo.git, worktrees);
  for (const entry of worktrees) {
    if (entry.main || entry.prunable || !(samePath(entry.path, path) || entry.branch === branchRef)) continue;
    // Twice forced also removes a locked worktree; once forced discards untracked and ignored files.
    const force = entry.locked ? ["--force", "--force"] : ["--force"];
    await retryAfterPrune(repo.git, () => repo.git.run(["worktree", "remove", ...force, entry.path]));
    removed.push(entry.path);
  }
  if (existsSync(path) && foreignGitDir(path, [repo.key]) === null) {
    await rm(path, { recursive: true, force: true });
    if (!removed.some((p) => samePath(p, path))) removed.push(path);
  }
  return removed;
}

/**
 * When `folder` is a checkout of some other repository (its `.git` names a git folder that exists and is
 * not one of `ownCommonDirs`), that git folder; else null. Such folders are never deleted.
 */
export function foreignGitDir(folder: string, ownCommonDirs: readonly string[]): string | null {
  const dotGit = join(folder, ".git");
  let gitDir: string;
  try {
    const stat = statSync(dotGit);
    if (stat.isDirectory()) return canonicalPath(dotGit);
    const match = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, "utf8"));
    if (!match) return null;
    gitDir = isAbsolute(match[1]!) ? match[1]! : resolve(folder, match[1]!);
  } catch {
    return null;
  }
  if (!existsSync(gitDir)) return null;
  const real = canonicalPath(gitDir);
  return ownCommonDirs.some((own) => real === own || isInside(own, real)) ? null : real;
}
