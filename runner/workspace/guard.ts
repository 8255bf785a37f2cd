import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { openGit, type Git } from "./git.ts";
import { taskBranchRef } from "./names.ts";
import type { PreparedWorkspace } from "./prepare.ts";
import { journalEnd, markDone, markRunning, noteRefs, readJournal, runningTasks } from "./ref-journal.ts";
import { withRepoLock } from "./repo-lock.ts";

// What a run may not change in its repository, checked before and after every run (DESIGN §12, issue 12
// items 2 and 3):
// - the git dir's `config`, `hooks/`, `info/` and the pointers that say where a worktree's repository is:
//   what cos's own git would obey later. A sandboxed agent cannot write them; an unsandboxed one can, and a
//   sandboxed direct run's masks are dropped should the host rewrite `config` meanwhile. A change is put back
//   and fails the attempt before anything is committed.
// - every ref but the task's own branch: the sandbox leaves `refs/` writable (a commit needs it), so an agent
//   could `git update-ref refs/heads/main`. A change that neither cos (ref-journal.ts) nor another task's run
//   explains is put back, the value it had is kept under `refs/cos/moved/<task>-<attempt>/…`, and the attempt
//   fails. Remote-tracking refs (`refs/remotes/`) are left out: every fetch rewrites them, and cos never merges
//   from them.

/** Files above this size are fingerprinted but not kept for putting back (a hook or a config is far smaller). */
const MAX_KEPT_BYTES = 1024 * 1024;

interface FileState {
  kind: "file" | "dir" | "link";
  digest: string;
  mode?: number;
  content?: Buffer;
  target?: string;
}

export interface RunGuard {
  /** The work folder's git dirs as read before the run (the sandbox mounts them). */
  dirs: { commonDir: string; gitDir: string };
  /** After the run (its processes gone): puts back what the run changed; what it found, one line each. */
  check(): Promise<string[]>;
  /** Ends this run's mark in the repository (call once the run is reported or given up). */
  release(): void;
}

interface Places {
  git: Git;
  commonDir: string;
  gitDir: string;
  /** The main checkout's folder (the common dir's parent in a non-bare repository). */
  dir: string;
}

async function placesOf(ws: PreparedWorkspace): Promise<Places | null> {
  if (ws.kind === "scratch") return null;
  const git = openGit(ws.dir);
  const [common = "", own = ""] = (await git.run(["rev-parse", "--git-common-dir", "--git-dir"])).split("\n");
  const abs = (p: string) => realpathSync(isAbsolute(p) ? p : resolve(ws.dir, p));
  return { git, commonDir: abs(common.trim()), gitDir: abs(own.trim()), dir: ws.dir };
}

/** Records the repository's protected state before a run and marks the run as running. Null for a scratch folder. */
export async function guardRun(ws: PreparedWorkspace, taskId: number, attempt: number): Promise<RunGuard | null> {
  const places = await placesOf(ws);
  if (!places) return null;
  const { git, commonDir } = places;
  const ownBranch = ws.kind === "worktree" ? taskBranchRef(taskId) : null;
  const files = fingerprint(places, ws);
  // Marked before the refs are read: a run that starts now sees this task as running from the start.
  markRunning(commonDir, taskId);
  const since = journalEnd(commonDir);
  const siblings = new Set(runningTasks(commonDir).filter((id) => id !== taskId));
  const refs = await readRefs(git);
  const head = ws.kind === "direct" ? await symbolicHead(git) : null;

  return {
    dirs: { commonDir, gitDir: places.gitDir },
    release: () => markDone(commonDir, taskId),
    check: () =>
      withRepoLock(commonDir, async () => {
        const problems = putBackFiles(files, fingerprint(places, ws));
        const journal = readJournal(commonDir, since);
        for (const id of journal.runsStarted) siblings.add(id);
        siblings.delete(taskId);
        problems.push(...(await putBackRefs({ git, commonDir, before: refs, ownBranch, siblings, cosSet: journal.refs, taskId, attempt })));
        if (head !== null) {
          const now = await symbolicHead(git);
          if (now !== head) problems.push(`the checkout ${places.dir} was switched from ${head} to ${now} (left as it is: switch it back by hand)`);
        }
        return problems;
      }),
  };
}

// ---- the git dir's files -------------------------------------------------------------------------------

function fingerprint(places: Places, ws: PreparedWorkspace): Map<string, FileState> {
  const { commonDir, gitDir } = places;
  const out = new Map<string, FileState>();
  const walk = (path: string) => {
    const state = stateOf(path);
    if (!state) return;
    out.set(path, state);
    if (state.kind === "dir") for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  for (const name of ["config", "config.worktree", "hooks", "info", "commondir"]) walk(join(commonDir, name));
  if (gitDir !== commonDir) for (const name of ["commondir", "gitdir", "config.worktree"]) walk(join(gitDir, name));
  if (ws.kind === "worktree") walk(join(ws.dir, ".git"));
  // Other worktrees' pointers: cos adds and removes worktrees during the run, so only a change of one that
  // exists before and after counts (see putBackFiles).
  let others: string[] = [];
  try {
    others = readdirSync(join(commonDir, "worktrees"));
  } catch {
    // no linked worktrees
  }
  for (const name of others) {
    const admin = join(commonDir, "worktrees", name);
    if (admin === gitDir) continue;
    for (const file of ["commondir", "gitdir", "config.worktree"]) {
      const state = stateOf(join(admin, file));
      if (state) out.set(join(admin, file), { ...state, other: true } as FileState);
    }
  }
  return out;
}

function stateOf(path: string): FileState | null {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return null;
  }
  if (stat.isSymbolicLink()) {
    const target = readlinkSync(path);
    return { kind: "link", digest: `link:${target}`, target };
  }
  if (stat.isDirectory()) return { kind: "dir", digest: "dir" };
  const content = readFileSync(path);
  const digest = `${stat.mode & 0o7777}:${createHash("sha256").update(content).digest("hex")}`;
  return { kind: "file", digest, mode: stat.mode & 0o7777, ...(content.length <= MAX_KEPT_BYTES ? { content } : {}) };
}

/** Puts back every changed, removed or added file of the fingerprint; one line per path. */
function putBackFiles(before: Map<string, FileState>, after: Map<string, FileState>): string[] {
  const problems: string[] = [];
  const other = (s: FileState | undefined) => (s as { other?: boolean } | undefined)?.other === true;
  for (const [path, old] of before) {
    const now = after.get(path);
    if (now?.digest === old.digest) continue;
    if (other(old) && !now) continue; // another worktree removed meanwhile
    problems.push(`${now ? "changed" : "removed"} ${path}${restore(path, old) ? " (put back)" : " (could not be put back: fix it by hand)"}`);
  }
  const added = [...after.keys()].filter((path) => !before.has(path) && !other(after.get(path)));
  // Deepest first, so a folder is empty when it goes.
  for (const path of added.sort((a, b) => b.length - a.length)) {
    if (after.get(path)?.kind === "dir" && added.some((p) => p !== path && p.startsWith(`${path}/`))) {
      rmSync(path, { recursive: true, force: true });
      problems.push(`added ${path} (removed)`);
      continue;
    }
    if (added.some((p) => p !== path && path.startsWith(`${p}/`))) continue; // reported with its folder
    rmSync(path, { recursive: true, force: true });
    problems.push(`added ${path} (removed)`);
  }
  return problems;
}

function restore(path: string, old: FileState): boolean {
  try {
    rmSync(path, { recursive: true, force: true });
    mkdirSync(dirname(path), { recursive: true });
    if (old.kind === "dir") mkdirSync(path);
    else if (old.kind === "link") symlinkSync(old.target!, path);
    else {
      if (!old.content) return false;
      writeFileSync(path, old.content);
      chmodSync(path, old.mode!);
    }
    return true;
  } catch {
    return false;
  }
}

// ---- refs ---------------------------------------------------------------------------------------------

async function readRefs(git: Git): Promise<Map<string, string>> {
  // A ref's name holds no space and no control character (git check-ref-format), so lines are safe here.
  const out = await git.run(["for-each-ref", "--format=%(objectname) %(refname)"]);
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    if (!line) continue;
    const space = line.indexOf(" ");
    const name = line.slice(space + 1);
    if (name.startsWith("refs/remotes/")) continue;
    refs.set(name, line.slice(0, space));
  }
  return refs;
}

async function symbolicHead(git: Git): Promise<string> {
  const outcome = await git.attempt(["symbolic-ref", "--quiet", "HEAD"]);
  return outcome.exitCode === 0 ? outcome.stdout.trim() : `a detached HEAD (${(await git.run(["rev-parse", "HEAD"])).trim().slice(0, 12)})`;
}

async function putBackRefs(input: {
  git: Git;
  commonDir: string;
  before: Map<string, string>;
  ownBranch: string | null;
  siblings: Set<number>;
  cosSet: Map<string, string | null>;
  taskId: number;
  attempt: number;
}): Promise<string[]> {
  const { git, commonDir, before, ownBranch, siblings, cosSet, taskId, attempt } = input;
  const after = await readRefs(git);
  const siblingBranches = new Set([...siblings].map(taskBranchRef));
  const names = new Set([...before.keys(), ...after.keys()]);
  const problems: string[] = [];
  const notes: { ref: string; value: string | null }[] = [];
  for (const ref of [...names].sort()) {
    if (ref === ownBranch || siblingBranches.has(ref)) continue;
    const was = before.get(ref) ?? null;
    const now = after.get(ref) ?? null;
    if (was === now) continue;
    // cos changed it meanwhile: what cos set last is what it should be.
    const expected = cosSet.has(ref) ? cosSet.get(ref)! : was;
    if (now === expected) continue;
    const kept = now ? `refs/cos/moved/${taskId}-${attempt}/${ref.replace(/^refs\//, "")}` : null;
    if (kept) await git.run(["update-ref", "-m", `cos: what task #${taskId} attempt ${attempt} set ${ref} to`, kept, now!]);
    const moved = expected === null
      ? await git.attempt(["update-ref", "-m", `cos: put back ${ref} after task #${taskId}`, "-d", ref, now!])
      : await git.attempt(["update-ref", "-m", `cos: put back ${ref} after task #${taskId}`, ref, expected, ...(now ? [now] : [])]);
    const put = moved.exitCode === 0;
    if (put) notes.push({ ref, value: expected });
    if (kept) notes.push({ ref: kept, value: now });
    const what =
      was === null ? `created ${ref} at ${short(now)}` : now === null ? `deleted ${ref} (was ${short(was)})` : `moved ${ref} from ${short(expected)} to ${short(now)}`;
    problems.push(`${what}${put ? ", put back" : ", could not be put back: fix it by hand"}${kept ? `; its commits are kept at ${kept}` : ""}`);
  }
  noteRefs(commonDir, notes);
  return problems;
}

const short = (sha: string | null) => (sha ? sha.slice(0, 12) : "nothing");
