import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Timers } from "../../src/shared/clock.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { agentEnvironment, type AgentEnvironmentSpec } from "./environment.ts";
import { DEFAULT_GRACE_MS } from "./process-group.ts";
import { runProcessGroup } from "./process-run.ts";
import { prepareRunFolder, readResultFile, runFiles } from "./run-folder.ts";

// Runs one agent attempt exactly as DESIGN §7 says: an argv without a shell, the prompt in a file and on
// stdin, an allowlisted environment, the whole process group killed at the timeout, the output streamed to
// a log file and only a capped tail of it kept in memory, the result from COS_RESULT_FILE or stdout.

export interface AgentRunSpec extends AgentEnvironmentSpec {
  /** May contain {prompt} {promptFile} {taskId} {workdir}; never run through a shell. */
  argv: string[];
  prompt: string;
  /** A folder for this run, created when missing: the prompt, result and log files live here. */
  runDir: string;
  timeoutMs: number;
  /** SIGTERM → SIGKILL grace, default 5000. */
  graceMs?: number;
  /** Cap on stdout kept in memory for the result (its tail), default 256 KiB. */
  maxCaptureBytes?: number;
}

export interface AgentRunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The result text: the content of COS_RESULT_FILE when the agent wrote it, else the captured stdout (tail, capped). */
  output: string;
  resultFromFile: boolean;
  /** Full stdout+stderr of the run. */
  logPath: string;
  /** The last lines each stream printed (a few KiB), for a failure's alert. */
  lastWords: { stdout: string; stderr: string };
  promptFile: string;
  pid: number | null;
}

const DEFAULT_MAX_CAPTURE_BYTES = 256 * 1024;
const PLACEHOLDER = /\{(prompt|promptFile|taskId|workdir)\}/g;

/** Fills the §7 placeholders in each argument in one pass, so text inside a value is never expanded again. */
export function expandArgv(
  argv: string[],
  values: { prompt: string; promptFile: string; taskId: number; workdir: string },
): string[] {
  if (argv.length === 0 || !argv[0]) throw new ValidationError("the agent command is empty: give its argv, e.g. [\"claude\", \"-p\"]");
  // A replacer function, not a replacement string: `$&` or `$1` in a prompt stays literal.
  return argv.map((arg) => arg.replace(PLACEHOLDER, (_match, name: keyof typeof values) => String(values[name])));
}

/**
 * Runs one attempt and returns when it is over: the leader has exited, no process of its group is left, and
 * the log is flushed. A command that cannot be started is a failed run (exit code null, the reason in the
 * output and the log), not an exception: the person reviewing the task should see why it failed.
 */
export async function runAgent(
  spec: AgentRunSpec,
  hooks: { onSpawn?(pid: number): void; signal?: AbortSignal; timers?: Timers } = {},
): Promise<AgentRunResult> {
  const graceMs = spec.graceMs ?? DEFAULT_GRACE_MS;
  const maxCapture = spec.maxCaptureBytes ?? DEFAULT_MAX_CAPTURE_BYTES;
  if (!(spec.timeoutMs > 0)) throw new ValidationError(`agent timeout must be positive, got ${spec.timeoutMs} ms`);
  if (!(graceMs >= 0)) throw new ValidationError(`agent grace period must be ≥ 0, got ${graceMs} ms`);
  if (!Number.isInteger(maxCapture) || maxCapture < 0) throw new ValidationError(`maxCaptureBytes must be a whole number ≥ 0`);
  if (!isDirectory(spec.workdir)) throw new ValidationError(`agent workdir ${spec.workdir} is not a folder`);

  const files = runFiles(spec.runDir);
  const { promptFile, logPath } = files;
  // Everything that can refuse the spec does so before anything is written.
  const env = agentEnvironment(spec, files);
  const argv = expandArgv(spec.argv, { prompt: spec.prompt, promptFile, taskId: spec.taskId, workdir: resolve(spec.workdir) });
  prepareRunFolder(spec.runDir, files, spec.prompt);

  const run = await runProcessGroup(
    { argv, cwd: spec.workdir, env, input: spec.prompt, logPath, maxCaptureBytes: maxCapture, timeoutMs: spec.timeoutMs, graceMs, what: "the agent" },
    hooks,
  );
  const fromFile = run.startFailure === null ? readResultFile(files.resultFile) : null;
  return {
    exitCode: run.exitCode,
    signal: run.signal,
    timedOut: run.timedOut,
    durationMs: run.durationMs,
    output: fromFile ?? run.stdoutTail,
    resultFromFile: fromFile !== null,
    logPath,
    lastWords: run.lastWords,
    promptFile,
    pid: run.pid,
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
