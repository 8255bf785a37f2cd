import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// git for the tests' own repositories. No vitest here: the bench imports kits that use these.

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
