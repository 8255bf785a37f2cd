import { execFile } from "node:child_process";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { existsSync, lstatSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { MAX_CHANGED_PATHS, type ChangedPath } from "../../src/domain/task/flags.ts";
import { gitEnvironment, nulFields, openGit, parseShortStat, safeGitArgs, type DiffStatCounts, type Git } from "./git.ts";

// A checkout's working tree as git sees it (tracked and untracked files, ignored ones left out), read through
// a copy of its index, so the checkout's own index stays exactly as the agent left it. The finish of a direct
// run counts its changes this way, and the checks (DESIGN §14) use it to leave the work as the agent left it:
// what a check writes (a formatter's rewrite, a snapshot file) is put back before anything is reported.

/** The changed paths of one report, in characters, at most. */
const MAX_CHANGED_PATHS_SIZE = 1_000_000;
const run = promisify(execFile);

/** Runs `fn` with a git whose index is a copy of the checkout's, holding its whole working tree. */
export function withWorkingTreeIndex<T>(git: Git, fn: (staged: Git) => Promise<T>): Promise<T> {
  return withIndexCopy(git, async (index) => {
    const staged = openGit(git.dir, { env: { GIT_INDEX_FILE: index } });
    await staged.run(["add", "--all", "--verbose"]);
    return fn(staged);
  });
}

/**
 * The tree object of the working tree as it is now: two equal ids mean nothing a commit would take changed.
 * Taken before and after every check, so its git runs without simple-git, whose wait for a command that
 * prints nothing (`add` of an unchanged tree) would cost 50 ms each time; with the same safety (no hooks, no
 * fsmonitor, no global or system config, a plain environment).
 */
export function workingTreeId(git: Git): Promise<string> {
  return withIndexCopy(git, async (index) => {
    const quiet = (args: string[]) =>
      run("git", safeGitArgs(args), { cwd: git.dir, env: gitEnvironment({ GIT_INDEX_FILE: index }), maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout.trim());
    await quiet(["add", "--all"]);
    return quiet(["write-tree"]);
  });
}

/** Runs `fn` with the path of a copy of the checkout's index (its stat cache spares git re-reading every file). */
async function withIndexCopy<T>(git: Git, fn: (index: string) => Promise<T>): Promise<T> {
  const indexPath = (await git.run(["rev-parse", "--path-format=absolute", "--git-path", "index"])).trim();
  const folder = await mkdtemp(join(tmpdir(), "cos-index-"));
  try {
    const index = join(folder, "index");
    if (existsSync(indexPath)) await copyFile(indexPath, index);
    return await fn(index);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Puts the working tree back to `tree` (from workingTreeId): files changed or removed since are written again,
 * files added since are removed. Ignored files are not looked at. Returns the paths put back, sorted.
 */
export async function putBackWorkingTree(git: Git, tree: string): Promise<string[]> {
  const now = await workingTreeId(git);
  if (now === tree) return [];
  const fields = nulFields(await git.run(["diff-tree", "-r", "-z", "--no-renames", "--name-status", tree, now]));
  const added: string[] = [];
  const restored: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) (fields[i] === "A" ? added : restored).push(fields[i + 1]!);
  for (const path of added) {
    const full = join(git.dir, path);
    // A path of the tree never leads out of the checkout: git refuses `..` and `.git` in tree entries.
    if (isPresent(full)) rmSync(full, { recursive: true, force: true });
  }
  if (restored.length) {
    const folder = await mkdtemp(join(tmpdir(), "cos-index-"));
    try {
      const index = openGit(git.dir, { env: { GIT_INDEX_FILE: join(folder, "index") } });
      await index.run(["read-tree", tree]);
      // checkout-index removes what stands in a path's way (a folder or link a check made) before writing it.
      await index.run(["checkout-index", "--force", "--", ...restored]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }
  return [...added, ...restored].sort();
}

/** What changed between two trees or commits: the diff stat, and the paths (at most MAX_CHANGED_PATHS of them). */
export async function changesBetween(git: Git, args: string[]): Promise<{ diffStat: DiffStatCounts; changes: ChangedPath[] }> {
  const diffStat = parseShortStat(await git.run(["diff", "--shortstat", "--find-renames", ...args]));
  const fields = nulFields(await git.run(["diff", "--name-status", "-z", "--find-renames", ...args]));
  const changes: ChangedPath[] = [];
  // Bounded in count and in size: a report carries them, and a runner's report is at most 4 MB.
  let size = 0;
  for (let i = 0; i < fields.length && changes.length < MAX_CHANGED_PATHS && size < MAX_CHANGED_PATHS_SIZE; ) {
    const status = fields[i++]!;
    if (status.startsWith("R") || status.startsWith("C")) {
      const from = fields[i++]!;
      const path = fields[i++]!;
      changes.push(status.startsWith("R") ? { path, change: "renamed", from } : { path, change: "added" });
      size += path.length + from.length;
    } else {
      const path = fields[i++]!;
      changes.push({ path, change: status === "A" ? "added" : status === "D" ? "deleted" : "modified" });
      size += path.length;
    }
  }
  return { diffStat, changes };
}

function isPresent(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
