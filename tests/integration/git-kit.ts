import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { ProjectRef } from "../../runner/workspace.ts";

/** git in `cwd`, with none of the caller's GIT_* variables. */
export function git(cwd: string, ...args: string[]): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_")));
  return execFileSync("git", args, { cwd, env, encoding: "utf8" }).trim();
}

/** git in `cwd` as a test person, with no config but the repository's (no global, no system): for repositories a test builds itself. */
export function gitAs(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: "/nonexistent", GIT_CONFIG_NOSYSTEM: "1" },
    encoding: "utf8",
  }).trim();
}

/** A repository at `dir` (made) on `main`, with a README in one commit. */
export function initRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  gitAs(dir, "init", "-q", "-b", "main");
  writeFileSync(join(dir, "README.md"), "site\n");
  gitAs(dir, "add", ".");
  gitAs(dir, "commit", "-q", "-m", "initial");
  return dir;
}

export interface GitSandbox {
  dir: string;
  repo: string;
  project: ProjectRef;
  worktreeRoot: string;
  scratchRoot: string;
}

const sandboxes: string[] = [];
afterEach(() => {
  for (const dir of sandboxes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A real repository in a temp folder, removed after the test: `main` with `files` committed, the
 * test's own identity configured locally, and worktree and scratch roots beside it.
 */
export function gitSandbox(prefix: string, files: Record<string, string>): GitSandbox {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  sandboxes.push(dir);
  const repo = join(dir, "repo");
  mkdirSync(repo);
  git(repo, "init", "-q", "-b", "main");
  git(repo, "config", "user.name", "Test Person");
  git(repo, "config", "user.email", "test@example.com");
  for (const [name, content] of Object.entries(files)) writeFileSync(join(repo, name), content);
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "initial");
  return { dir, repo, project: { name: "site", repo, mainBranch: "main" }, worktreeRoot: join(dir, "worktrees"), scratchRoot: join(dir, "scratch") };
}
