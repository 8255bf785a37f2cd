import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { ProjectRef } from "../../runner/workspace.ts";
import { git } from "./git-repo-kit.ts";

// The plain git commands live in git-repo-kit, which registers no hooks, so kits the bench imports can use them.
export { git, gitAs, initRepo } from "./git-repo-kit.ts";

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
