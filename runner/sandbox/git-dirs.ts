import { execFile } from "node:child_process";
import { isAbsolute, resolve } from "node:path";
import { promisify } from "node:util";
import { gitEnvironment, safeGitArgs } from "../workspace/git.ts";
import type { GitDirs } from "./spec.ts";

const run = promisify(execFile);

/**
 * The git dirs of a work folder, read before the agent starts (the agent could rewrite `.git` afterwards):
 * `--git-common-dir` (objects, refs, config, hooks) and `--git-dir` (a linked worktree's own admin folder).
 * Null when the folder is not in a repository. rev-parse runs no hook, filter or fsmonitor, and gets neither
 * the system nor the global git config nor cos's environment.
 */
export async function gitDirsOf(workdir: string): Promise<GitDirs | null> {
  try {
    const { stdout } = await run("git", safeGitArgs(["rev-parse", "--git-common-dir", "--git-dir"]), { cwd: workdir, env: gitEnvironment() });
    const [common, own] = stdout.split("\n");
    if (!common || !own) return null;
    // Relative answers are relative to the folder git ran in (git 2.31+ has --path-format=absolute; Debian 12 has 2.39, older hosts may not).
    const absolute = (path: string) => (isAbsolute(path) ? path : resolve(workdir, path));
    return { commonDir: absolute(common), gitDir: absolute(own) };
  } catch (error) {
    if ((error as { code?: unknown }).code === 128) return null;
    throw error;
  }
}
