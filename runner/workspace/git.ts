import { realpathSync } from "node:fs";
import { GitError, simpleGit } from "simple-git";
import { CosError, toCosError } from "../../src/shared/errors.ts";
import { GIT_SAFETY_CONFIG, gitEnvironment } from "../../src/shared/git-safety.ts";

export { GIT_SAFETY_CONFIG, gitEnvironment, safeGitArgs } from "../../src/shared/git-safety.ts";

/** Who cos commits as: merges on approval, and what an agent left uncommitted. */
export const COS_IDENTITY = { name: "ChiefOfStaff", email: "cos@localhost" } as const;

/** A git command that exited non-zero, with what git said, so callers can tell a conflict from a fault. */
export class GitCommandError extends CosError {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super("internal", `git ${args.join(" ")} failed (exit ${exitCode}): ${(stderr || stdout).trim()}`);
  }
}

/**
 * What the errors hook hands back for a non-zero exit, turned into a GitCommandError with its argv.
 * A GitError, because simple-git flattens any other error to its message.
 */
class GitExit extends GitError {
  constructor(
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(undefined, `git exited ${exitCode}`);
  }
}

export interface GitOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Git {
  readonly dir: string;
  /** Runs git and returns its stdout; a non-zero exit throws GitCommandError. */
  run(args: string[]): Promise<string>;
  /** Runs git and returns the outcome whatever the exit code. */
  attempt(args: string[]): Promise<GitOutcome>;
}

// The safety every git call of cos's carries (DESIGN §12) lives in src/shared/git-safety.ts, where the commands
// that run git without simple-git (cos doctor, cos demo) find it too.
const GIT_SAFETY = { allowUnsafeHooksPath: true, allowUnsafeFsMonitor: true, allowUnsafeConfigPaths: true } as const;

/** One simple-git instance bound to one folder. `config` becomes `-c` options; `env` adds git variables. */
export function openGit(dir: string, options: { config?: string[]; env?: Record<string, string> } = {}): Git {
  const env = gitEnvironment(options.env);
  const instance = simpleGit({
    baseDir: dir,
    trimmed: false,
    config: [...GIT_SAFETY_CONFIG, ...(options.config ?? [])],
    unsafe: GIT_SAFETY,
    allowEnvironment: Object.keys(env).filter((name) => name.startsWith("GIT_")),
    // simple-git only fails a command that also wrote to stderr; every non-zero exit counts here.
    errors: (error, result) =>
      result.exitCode
        ? new GitExit(result.exitCode, Buffer.concat(result.stdOut).toString("utf8"), Buffer.concat(result.stdErr).toString("utf8"))
        : error,
  }).env(env);

  const run = async (args: string[]): Promise<string> => {
    try {
      return await instance.raw(args);
    } catch (error) {
      if (error instanceof GitExit) throw new GitCommandError(args, error.exitCode, error.stdout, error.stderr);
      throw toCosError(error);
    }
  };
  return {
    dir,
    run,
    attempt: async (args) => {
      try {
        return { exitCode: 0, stdout: await run(args), stderr: "" };
      } catch (error) {
        if (error instanceof GitCommandError) return { exitCode: error.exitCode, stdout: error.stdout, stderr: error.stderr };
        throw error;
      }
    },
  };
}

/** A git instance for the same folder that commits as ChiefOfStaff, whatever identity the repository names. */
export function committingGit(git: Git): Git {
  return openGit(git.dir, { config: [`user.name=${COS_IDENTITY.name}`, `user.email=${COS_IDENTITY.email}`] });
}

/** The repository's shared git folder, canonical: the same for the main checkout and all its worktrees. */
export async function commonDir(git: Git): Promise<string> {
  const dir = (await git.run(["rev-parse", "--path-format=absolute", "--git-common-dir"])).trim();
  return realpathSync(dir);
}

// simple-git waits an extra 50 ms for a command that printed nothing at all, so the commands below are
// chosen to print something: `rev-parse --verify` without --quiet, `merge-base` rather than --is-ancestor.

/** The commit a ref names, or null when there is none. */
export async function resolveCommit(git: Git, ref: string): Promise<string | null> {
  const outcome = await git.attempt(["rev-parse", "--verify", `${ref}^{commit}`]);
  return outcome.exitCode === 0 ? outcome.stdout.trim() : null;
}

/** The best common ancestor of two commits, or null when they share no history. */
export async function mergeBase(git: Git, a: string, b: string): Promise<string | null> {
  const outcome = await git.attempt(["merge-base", a, b]);
  if (outcome.exitCode === 0) return outcome.stdout.trim();
  if (outcome.exitCode === 1) return null;
  throw new GitCommandError(["merge-base", a, b], outcome.exitCode, outcome.stdout, outcome.stderr);
}

export async function isAncestor(git: Git, ancestor: string, descendant: string): Promise<boolean> {
  return (await mergeBase(git, ancestor, descendant)) === ancestor;
}

/** `git status --porcelain=v2 -z --branch`: the checked-out branch and the changed paths. */
export async function readStatus(git: Git, untracked: "all" | "no"): Promise<{ head: string | null; changed: string[] }> {
  const fields = nulFields(await git.run(["status", "--porcelain=v2", "-z", "--branch", `--untracked-files=${untracked}`]));
  let head: string | null = null;
  const changed: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (field.startsWith("# branch.head ")) {
      const name = field.slice("# branch.head ".length);
      head = name === "(detached)" ? null : name;
    } else if (field.startsWith("1 ")) changed.push(afterSpaces(field, 8));
    else if (field.startsWith("2 ")) {
      changed.push(afterSpaces(field, 9));
      i++; // a rename's next field is its old path
    } else if (field.startsWith("u ")) changed.push(afterSpaces(field, 10));
    else if (field.startsWith("? ")) changed.push(field.slice(2));
  }
  return { head, changed };
}

function afterSpaces(field: string, count: number): string {
  let at = 0;
  for (let n = 0; n < count; n++) at = field.indexOf(" ", at) + 1;
  return field.slice(at);
}

const STALE_OR_LOCKED = /index\.lock|\.lock': File exists|missing but (already registered|locked) worktree|is already (checked out|used by worktree) at/i;

/**
 * Runs a change once more after `git worktree prune` when git reports a stale worktree or a held lock:
 * another process (a second `cos`, a crashed run) is the usual cause, and a second try usually clears it.
 */
export async function retryAfterPrune<T>(git: Git, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof GitCommandError) || !STALE_OR_LOCKED.test(`${error.stderr}\n${error.stdout}`)) throw error;
    await git.run(["worktree", "prune"]);
    return change();
  }
}

export interface DiffStatCounts {
  files: number;
  insertions: number;
  deletions: number;
}

export function parseShortStat(output: string): DiffStatCounts {
  const count = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
  return {
    files: count(/(\d+) files? changed/),
    insertions: count(/(\d+) insertions?\(\+\)/),
    deletions: count(/(\d+) deletions?\(-\)/),
  };
}

/** NUL-separated output into its non-empty fields. */
export function nulFields(output: string): string[] {
  return output.split("\0").filter((field) => field.length > 0);
}
