import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CHECK_TAIL_LINES, CHECK_LINE_MAX, checkTail, type CheckOutcome, type CheckRecord } from "../src/domain/task/checks.ts";
import type { Timers } from "../src/shared/clock.ts";
import { readLogTail } from "./agent/output-tail.ts";
import { DEFAULT_GRACE_MS } from "./agent/process-group.ts";
import { runProcessGroup } from "./agent/process-run.ts";
import { supervisedArgv } from "./agent/supervision.ts";
import { sandboxLaunch, type RunnerSandbox, type SandboxedRun } from "./sandbox/runner-sandbox.ts";
import { SandboxWatch } from "./sandbox/watch.ts";
import { openGit, resolveCommit, type Git } from "./workspace/git.ts";
import type { PreparedWorkspace } from "./workspace/prepare.ts";
import { putBackWorkingTree, workingTreeId } from "./workspace/work-tree.ts";

// A project's checks (DESIGN §14, issue 16): after the agent's run, once cos has committed what it left, each
// check runs in the task's work folder, one after another, as the agent ran: under the supervisor that dies
// with the runner, in the agent's sandbox (its mounts, its network rule; the runner leaves out the agent CLI's
// state folders) with the agent's environment rules, stopped as a process group at its timeout. Its whole
// output goes to `<run folder>/checks/<name>.log`; its record keeps the outcome, the exit code, how long it
// took and its last lines.
//
// A check may write in the work folder (build output, caches, a formatter's rewrite), but nothing it writes
// reaches review: after each check the working tree is put back as the agent left it (files changed or removed
// are written again, files added are removed; ignored files, which no commit takes, stay), and in a worktree
// the task's branch and HEAD too. So every check sees exactly what a person will review, and what it changed
// is said in its record's note.

export interface ProjectCheck {
  name: string;
  command: string[];
  timeoutMinutes: number;
}

export interface ChecksSpec {
  taskId: number;
  attempt: number;
  checks: readonly ProjectCheck[];
  /** The agent's work folder: a worktree or the project's checkout (a scratch folder has no project, so no checks). */
  workspace: PreparedWorkspace;
  /** The attempt's run folder; the checks' logs go to its `checks/` folder, the only part of it they may write. */
  runDir: string;
  /** The check environment (checkEnvironment): the agent's allowlist, without the run's wiring. */
  env: Record<string, string>;
  /** The agent's sandbox, when the runner has one: the same mounts and network rule, another command. */
  sandbox: { runner: RunnerSandbox; run: Omit<SandboxedRun, "runDir" | "env" | "command"> } | null;
  /** Told of each check's supervisor, as the agent's is (the runner's records, for the reaper). */
  onSpawn?(pid: number): void;
  /** Aborted when the lease is lost or the runner stops: the check under way is stopped, the rest skipped. */
  signal: AbortSignal;
  graceMs?: number;
  timers?: Timers;
}

export interface ChecksRun {
  records: CheckRecord[];
  /** What a check did that no run may do (processes left alive): the attempt fails as tampered. */
  problems: string[];
}

/** How much of a check's log is read for its last lines. */
const TAIL_BYTES = CHECK_TAIL_LINES * (CHECK_LINE_MAX + 1) * 4;

export async function runChecks(spec: ChecksSpec): Promise<ChecksRun> {
  const { workspace } = spec;
  const git = openGit(workspace.dir);
  const checksDir = join(spec.runDir, "checks");
  mkdirSync(checksDir, { recursive: true });
  const left = await leftByAgent(git, workspace);
  const records: CheckRecord[] = [];
  const problems: string[] = [];
  for (const check of spec.checks) {
    if (spec.signal.aborted) break;
    const logPath = join(checksDir, `${check.name}.log`);
    let argv = supervisedArgv(check.command);
    let discard = () => {};
    if (spec.sandbox) {
      const launch = await sandboxLaunch(spec.sandbox.runner, { ...spec.sandbox.run, runDir: checksDir, env: spec.env, command: check.command });
      if ("refusal" in launch) {
        records.push({ name: check.name, outcome: "failed", exitCode: null, durationMs: 0, tail: [], note: launch.refusal });
        continue;
      }
      argv = supervisedArgv(launch.argv, launch.argsFile);
      discard = launch.discard;
    }
    const watch = new SandboxWatch();
    let run;
    try {
      run = await runProcessGroup(
        {
          argv,
          cwd: workspace.dir,
          env: spec.env,
          logPath,
          maxCaptureBytes: 0,
          timeoutMs: check.timeoutMinutes * 60_000,
          graceMs: spec.graceMs ?? DEFAULT_GRACE_MS,
          what: `check ${check.name}`,
        },
        {
          signal: spec.signal,
          ...(spec.timers ? { timers: spec.timers } : {}),
          onSpawn: (pid) => {
            spec.onSpawn?.(pid);
            if (spec.sandbox) watch.start(pid);
          },
        },
      );
    } finally {
      discard();
    }
    const survivors = await watch.settle();
    if (survivors.length) problems.push(`processes of check ${check.name} survived it (host pids ${survivors.join(", ")})`);
    const putBack = await putBackWhatChecksChanged(git, workspace, left);
    const outcome: CheckOutcome = run.timedOut ? "timed_out" : run.exitCode === 0 ? "passed" : "failed";
    const notes = [...(run.startFailure ? [run.startFailure] : []), ...putBack];
    records.push({
      name: check.name,
      outcome,
      exitCode: run.timedOut ? null : run.exitCode,
      durationMs: run.durationMs,
      tail: checkTail(readLogTail(logPath, TAIL_BYTES)),
      ...(notes.length ? { note: clipNote(notes.join("; ")) } : {}),
    });
  }
  return { records, problems };
}

/** The work as the agent left it (and cos committed it): what every check must see, and what is put back after each. */
interface LeftByAgent {
  tree: string;
  /** In a worktree: the task branch's commit, which HEAD names. */
  branchCommit: string | null;
  /** The checkout's index file (what the agent staged, in a direct run), and its bytes. */
  index: { path: string; bytes: Buffer | null };
}

async function leftByAgent(git: Git, workspace: PreparedWorkspace): Promise<LeftByAgent> {
  const branchCommit = workspace.branch ? await resolveCommit(git, `refs/heads/${workspace.branch}`) : null;
  const indexPath = (await git.run(["rev-parse", "--path-format=absolute", "--git-path", "index"])).trim();
  return { tree: await workingTreeId(git), branchCommit, index: { path: indexPath, bytes: readOrNull(indexPath) } };
}

/** Puts the task's branch, HEAD and working tree back as the agent left them; what was put back, in words. */
async function putBackWhatChecksChanged(git: Git, workspace: PreparedWorkspace, left: LeftByAgent): Promise<string[]> {
  const notes: string[] = [];
  if (workspace.branch && left.branchCommit) {
    const ref = `refs/heads/${workspace.branch}`;
    const head = await git.attempt(["symbolic-ref", "--quiet", "HEAD"]);
    if (head.stdout.trim() !== ref) {
      await git.run(["symbolic-ref", "HEAD", ref]);
      notes.push(`it switched the worktree to ${head.stdout.trim() || "a detached HEAD"} (put back on ${workspace.branch})`);
    }
    const now = await resolveCommit(git, ref);
    if (now !== left.branchCommit) {
      await git.run(["update-ref", "-m", `cos: put back ${workspace.branch} after a check`, ref, left.branchCommit]);
      notes.push(`it moved ${workspace.branch} to ${now?.slice(0, 12) ?? "nothing"} (put back)`);
    }
  }
  const index = readOrNull(left.index.path);
  if (!(index === null ? left.index.bytes === null : left.index.bytes?.equals(index))) {
    if (left.index.bytes) writeFileSync(left.index.path, left.index.bytes);
    else rmSync(left.index.path, { force: true });
    notes.push("it changed the checkout's index (put back)");
  }
  const paths = await putBackWorkingTree(git, left.tree);
  if (paths.length) {
    const shown = paths.slice(0, 5).join(", ");
    notes.push(`it changed ${paths.length} file${paths.length === 1 ? "" : "s"} in the work folder (put back, not reviewed): ${shown}${paths.length > 5 ? ", …" : ""}`);
  }
  return notes;
}

function readOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/** A record's note stays short: the runner protocol takes at most 2,000 characters. */
function clipNote(text: string): string {
  return text.length > 1000 ? `${text.slice(0, 999)}…` : text;
}
