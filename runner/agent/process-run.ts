import { execa } from "execa";
import { systemTimers, type Timers } from "../../src/shared/clock.ts";
import { OutputLog } from "./output-log.ts";
import { AgentProcessGroup } from "./process-group.ts";

// One command of a run (the agent, or a check after it) as the runner starts every one: an argv without a
// shell, in a process group of its own so that a timeout reaches everything it started (TERM, then KILL after
// a grace period), all of its output streamed to a log file while only a capped tail of stdout stays in memory.

export interface ProcessRunSpec {
  /** The argv, placeholders filled; never run through a shell. */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Piped to stdin, then closed; nothing when absent. */
  input?: string;
  /** Where all of stdout and stderr go, in the order read. */
  logPath: string;
  /** Cap on stdout kept in memory (its tail). */
  maxCaptureBytes: number;
  timeoutMs: number;
  graceMs: number;
  /** "the agent", "check lint": who could not be started, in the reason a person reads. */
  what: string;
}

export interface ProcessRunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The tail of stdout, at most maxCaptureBytes; the reason, when it could not be started. */
  stdoutTail: string;
  /** Why it could not be started; null when it ran. */
  startFailure: string | null;
  /** The last lines each stream printed (a few KiB), for a failure's alert. */
  lastWords: { stdout: string; stderr: string };
  pid: number | null;
}

/** Once the group is gone, its pipes close at once; one still open was inherited by a process that left the group. */
const STREAM_CLOSE_MS = 2_000;

/**
 * Runs the command and returns when it is over: the leader has exited, no process of its group is left, and
 * the log is flushed. A command that cannot be started is a result (exit code null, the reason in the output
 * and the log), not an exception.
 */
export async function runProcessGroup(
  spec: ProcessRunSpec,
  hooks: { onSpawn?(pid: number): void; signal?: AbortSignal; timers?: Timers } = {},
): Promise<ProcessRunResult> {
  const timers = hooks.timers ?? systemTimers;
  const output = await OutputLog.open(spec.logPath, spec.maxCaptureBytes);
  const [file, ...args] = spec.argv;
  const started = timers.now();
  const subprocess = execa(file!, args, {
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: false,
    // It leads its own process group, so a timeout reaches everything it started.
    detached: true,
    ...(spec.input !== undefined ? { input: spec.input } : { stdin: "ignore" as const }),
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    stripFinalNewline: false,
  });
  const pid = subprocess.pid;
  if (pid === undefined) {
    const failed = await subprocess;
    const reason = startFailure(spec.what, file!, failed.message ?? "", failed.code);
    await output.close(`${reason}\n`);
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      durationMs: Math.round(timers.now() - started),
      stdoutTail: reason,
      startFailure: reason,
      lastWords: { stdout: "", stderr: reason },
      pid: null,
    };
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    subprocess.once("exit", (code, signal) => resolveExit({ code, signal })),
  );

  const pumps = output.pump(subprocess.stdout, subprocess.stderr);

  const group = new AgentProcessGroup(pid, spec.graceMs, timers);
  let timedOut = false;
  const cancelTimeout = timers.after(spec.timeoutMs, () => {
    timedOut = true;
    group.terminate();
  });
  // A stop that names a grace of its own (a cancel: the person wants it gone now) gets it.
  const stop = () => group.terminate(graceOf(hooks.signal?.reason) ?? spec.graceMs);
  hooks.signal?.addEventListener("abort", stop, { once: true });
  if (hooks.signal?.aborted) stop();
  let hookError: unknown = null;
  try {
    hooks.onSpawn?.(pid);
  } catch (error) {
    // Nobody would know this command is running: stop it, then report the hook's failure.
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
    output.note(`\n[cos] stopped reading: a process that left the process group of ${spec.what} still holds its output open\n`);
  }
  await subprocess;
  await output.close();
  if (hookError) throw hookError;
  return {
    exitCode: exit.code,
    signal: exit.signal,
    timedOut,
    durationMs: Math.round(timers.now() - started),
    stdoutTail: output.stdoutTail.text(),
    startFailure: null,
    lastWords: { stdout: output.lastWords.stdout.text(), stderr: output.lastWords.stderr.text() },
    pid,
  };
}

/** The grace period a stop asks for, if it names one (`{ graceMs }` on the abort reason). */
function graceOf(reason: unknown): number | null {
  const grace = (reason as { graceMs?: unknown } | null | undefined)?.graceMs;
  return typeof grace === "number" && grace >= 0 ? grace : null;
}

function startFailure(what: string, file: string, message: string, code: string | undefined): string {
  const hint =
    code === "ENOENT"
      ? `: "${file}" was not found on its PATH`
      : code === "E2BIG"
        ? ": the arguments are too long (pass the prompt with {promptFile} or on stdin instead of {prompt})"
        : code === "EACCES"
          ? `: "${file}" is not executable`
          : "";
  const detail = message.split("\n").find((line) => line.trim()) ?? message;
  return `[cos] ${what} could not be started${hint} (${detail.trim()})`;
}
