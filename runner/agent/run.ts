import { statSync } from "node:fs";
import { resolve } from "node:path";
import { execa } from "execa";
import { systemTimers, type Timers } from "../../src/shared/clock.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { agentEnvironment, type AgentEnvironmentSpec } from "./environment.ts";
import { OutputLog } from "./output-log.ts";
import { AgentProcessGroup, DEFAULT_GRACE_MS } from "./process-group.ts";
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
/** Once the group is gone, its pipes close at once; one still open was inherited by a process that left the group. */
const STREAM_CLOSE_MS = 2_000;
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
  // The timeout, the grace period, the wait for the pipes to close and durationMs; tests move them by hand.
  const timers = hooks.timers ?? systemTimers;
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
  const [file, ...args] = expandArgv(spec.argv, { prompt: spec.prompt, promptFile, taskId: spec.taskId, workdir: resolve(spec.workdir) });
  prepareRunFolder(spec.runDir, files, spec.prompt);

  const output = await OutputLog.open(logPath, maxCapture);

  const started = timers.now();
  const subprocess = execa(file!, args, {
    cwd: spec.workdir,
    env,
    extendEnv: false,
    // The agent leads its own process group, so a timeout reaches everything it started.
    detached: true,
    input: spec.prompt,
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    stripFinalNewline: false,
  });
  const pid = subprocess.pid;
  if (pid === undefined) {
    const failed = await subprocess;
    const reason = startFailure(file!, failed.message ?? "", failed.code);
    await output.close(`${reason}\n`);
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      durationMs: Math.round(timers.now() - started),
      output: reason,
      resultFromFile: false,
      logPath,
      lastWords: { stdout: "", stderr: reason },
      promptFile,
      pid: null,
    };
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    subprocess.once("exit", (code, signal) => resolveExit({ code, signal })),
  );

  const pumps = output.pump(subprocess.stdout, subprocess.stderr);

  const group = new AgentProcessGroup(pid, graceMs, timers);
  let timedOut = false;
  const cancelTimeout = timers.after(spec.timeoutMs, () => {
    timedOut = true;
    group.terminate();
  });
  // A stop that names a grace of its own (a cancel: the person wants it gone now) gets it.
  const stop = () => group.terminate(graceOf(hooks.signal?.reason) ?? graceMs);
  hooks.signal?.addEventListener("abort", stop, { once: true });
  if (hooks.signal?.aborted) stop();
  let hookError: unknown = null;
  try {
    hooks.onSpawn?.(pid);
  } catch (error) {
    // Nobody would know this agent is running: stop it, then report the hook's failure.
    hookError = error;
    group.terminate();
  }

  const exit = await exited;
  cancelTimeout();
  hooks.signal?.removeEventListener("abort", stop);
  await group.reap();

  let cancelCloseWait = () => {};
  const closed = await Promise.race([
    pumps.then(() => true),
    new Promise<false>((resolveWait) => (cancelCloseWait = timers.after(STREAM_CLOSE_MS, () => resolveWait(false)))),
  ]);
  cancelCloseWait();
  if (!closed) {
    subprocess.stdout?.destroy();
    subprocess.stderr?.destroy();
    await pumps;
    output.note("\n[cos] stopped reading: a process that left the agent's process group still holds its output open\n");
  }
  await subprocess;
  await output.close();
  if (hookError) throw hookError;

  const fromFile = readResultFile(files.resultFile);
  return {
    exitCode: exit.code,
    signal: exit.signal,
    timedOut,
    durationMs: Math.round(timers.now() - started),
    output: fromFile ?? output.stdoutTail.text(),
    resultFromFile: fromFile !== null,
    logPath,
    lastWords: { stdout: output.lastWords.stdout.text(), stderr: output.lastWords.stderr.text() },
    promptFile,
    pid,
  };
}

/** The grace period a stop asks for, if it names one (`{ graceMs }` on the abort reason). */
function graceOf(reason: unknown): number | null {
  const grace = (reason as { graceMs?: unknown } | null | undefined)?.graceMs;
  return typeof grace === "number" && grace >= 0 ? grace : null;
}

function startFailure(file: string, message: string, code: string | undefined): string {
  const hint =
    code === "ENOENT"
      ? `: "${file}" was not found on the agent's PATH`
      : code === "E2BIG"
        ? ": the arguments are too long (pass the prompt with {promptFile} or on stdin instead of {prompt})"
        : code === "EACCES"
          ? `: "${file}" is not executable`
          : "";
  const detail = message.split("\n").find((line) => line.trim()) ?? message;
  return `[cos] the agent could not be started${hint} (${detail.trim()})`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
