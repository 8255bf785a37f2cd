import { once } from "node:events";
import {
  closeSync,
  createWriteStream,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  type WriteStream,
} from "node:fs";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { SECRET_ENV_NAMES } from "../src/config/env.ts";
import { ValidationError } from "../src/shared/errors.ts";

// Runs one agent attempt exactly as DESIGN §7 says: an argv without a shell, the prompt in a file and on
// stdin, an allowlisted environment, the whole process group killed at the timeout, the output streamed to
// a log file and only a capped tail of it kept in memory, the result from COS_RESULT_FILE or stdout.

export interface AgentRunSpec {
  /** May contain {prompt} {promptFile} {taskId} {workdir}; never run through a shell. */
  argv: string[];
  prompt: string;
  taskId: number;
  attempt: number;
  /** The agent's working directory. */
  workdir: string;
  /** A folder for this run, created when missing: the prompt, result and log files live here. */
  runDir: string;
  /** Names of extra variables the agent may see. */
  envAllow: string[];
  /** Where PATH, HOME, LANG and the allowed names are read from. */
  sourceEnv: Record<string, string | undefined>;
  extraEnv?: Record<string, string>;
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
  promptFile: string;
  pid: number | null;
}

export const DEFAULT_GRACE_MS = 5_000;
export const DEFAULT_MAX_CAPTURE_BYTES = 256 * 1024;
/** A result file is the agent's deliberate answer, so it gets more room than stdout, but not unbounded room. */
const MAX_RESULT_FILE_BYTES = 4 * 1024 * 1024;
/** Once the group is gone, its pipes close at once; one still open was inherited by a process that left the group. */
const STREAM_CLOSE_MS = 2_000;
const POLL_MS = 20;

const BASE_ENV_NAMES = ["PATH", "HOME", "LANG"] as const;
const SECRET_NAMES = new Set<string>(SECRET_ENV_NAMES.map((name) => name.toUpperCase()));
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
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
 * The whole environment an agent gets: PATH, HOME, LANG and the allowed names (when set in `sourceEnv`), the
 * extra variables, and the COS_* protocol variables, which nothing can override.
 */
export function agentEnvironment(spec: AgentRunSpec, files: { promptFile: string; resultFile: string }): Record<string, string> {
  const refuseSecret = (name: string, where: string) => {
    if (!ENV_NAME.test(name)) throw new ValidationError(`${where}: "${name}" is not an environment variable name`);
    if (SECRET_NAMES.has(name.toUpperCase())) {
      throw new ValidationError(`${where}: ${name} is a ChiefOfStaff secret and never reaches an agent (DESIGN §7)`);
    }
  };
  for (const name of spec.envAllow) refuseSecret(name, "agent env");
  for (const name of Object.keys(spec.extraEnv ?? {})) refuseSecret(name, "agent extra env");

  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV_NAMES, ...spec.envAllow]) {
    const value = spec.sourceEnv[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, spec.extraEnv);
  env.COS_TASK_ID = String(spec.taskId);
  env.COS_ATTEMPT = String(spec.attempt);
  env.COS_PROMPT_FILE = files.promptFile;
  env.COS_RESULT_FILE = files.resultFile;
  env.COS_WORKDIR = resolve(spec.workdir);
  return env;
}

/** Signals the process group led by `pid`. False when no such group exists (or it is not ours to signal). */
export function killProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  assertGroupLeader(pid);
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH" || code === "EPERM") return false;
    throw error;
  }
}

/** Whether any process of the group led by `pid` is still running (zombies waiting to be reaped do not count). */
export function processGroupAlive(pid: number): boolean {
  assertGroupLeader(pid);
  try {
    process.kill(-pid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    throw error;
  }
  // kill(2) also finds zombies, and a container's init may never reap the orphans of a killed group.
  const states = linuxGroupStates(pid);
  return states === null || states.some((state) => state !== "Z" && state !== "X");
}

/**
 * Runs one attempt and returns when it is over: the leader has exited, no process of its group is left, and
 * the log is flushed. A command that cannot be started is a failed run (exit code null, the reason in the
 * output and the log), not an exception: the person reviewing the task should see why it failed.
 */
export async function runAgent(
  spec: AgentRunSpec,
  hooks: { onSpawn?(pid: number): void; signal?: AbortSignal } = {},
): Promise<AgentRunResult> {
  const graceMs = spec.graceMs ?? DEFAULT_GRACE_MS;
  const maxCapture = spec.maxCaptureBytes ?? DEFAULT_MAX_CAPTURE_BYTES;
  if (!(spec.timeoutMs > 0)) throw new ValidationError(`agent timeout must be positive, got ${spec.timeoutMs} ms`);
  if (!(graceMs >= 0)) throw new ValidationError(`agent grace period must be ≥ 0, got ${graceMs} ms`);
  if (!Number.isInteger(maxCapture) || maxCapture < 0) throw new ValidationError(`maxCaptureBytes must be a whole number ≥ 0`);
  if (!isDirectory(spec.workdir)) throw new ValidationError(`agent workdir ${spec.workdir} is not a folder`);

  const runDir = resolve(spec.runDir);
  const promptFile = join(runDir, "prompt.md");
  const resultFile = join(runDir, "result.md");
  const logPath = join(runDir, "output.log");
  // Everything that can refuse the spec does so before anything is written.
  const env = agentEnvironment(spec, { promptFile, resultFile });
  const [file, ...args] = expandArgv(spec.argv, { prompt: spec.prompt, promptFile, taskId: spec.taskId, workdir: resolve(spec.workdir) });
  mkdirSync(runDir, { recursive: true });
  writeFileSync(promptFile, spec.prompt);
  // A result left by an earlier run in the same folder must not pass for this run's.
  rmSync(resultFile, { force: true });

  const log = createWriteStream(logPath);
  await once(log, "open");
  let logError: Error | null = null;
  log.on("error", (error) => (logError ??= error));

  const started = performance.now();
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
    log.end(`${reason}\n`);
    await finish(log);
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      durationMs: Math.round(performance.now() - started),
      output: reason,
      resultFromFile: false,
      logPath,
      promptFile,
      pid: null,
    };
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    subprocess.once("exit", (code, signal) => resolveExit({ code, signal })),
  );

  const tail = new TailBuffer(maxCapture);
  const pump = async (stream: Readable | null, keep: boolean) => {
    if (!stream) return;
    try {
      for await (const chunk of stream) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
        if (keep) tail.push(bytes);
        // Waiting for the log to drain stops reading, the pipe fills, and the agent blocks on its next write:
        // memory stays bounded however much it prints. A broken log still drains the pipe.
        if (!logError && !log.write(bytes)) await once(log, "drain").catch(() => undefined);
      }
    } catch {
      // The stream was destroyed because a process outside the group kept it open; what was read is kept.
    }
  };
  const pumps = Promise.all([pump(subprocess.stdout, true), pump(subprocess.stderr, false)]);

  // An object, so the checks after `await` see what the timers changed.
  const run = { phase: "running" as "running" | "terminating" | "killed" };
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = () => {
    if (run.phase !== "running") return;
    run.phase = "terminating";
    killProcessGroup(pid, "SIGTERM");
    // A stopped process keeps SIGTERM pending until it is continued.
    killProcessGroup(pid, "SIGCONT");
    killTimer = setTimeout(() => {
      run.phase = "killed";
      killProcessGroup(pid, "SIGKILL");
    }, graceMs);
  };
  const timeoutTimer = setTimeout(() => {
    timedOut = true;
    terminate();
  }, spec.timeoutMs);
  hooks.signal?.addEventListener("abort", terminate, { once: true });
  if (hooks.signal?.aborted) terminate();
  let hookError: unknown = null;
  try {
    hooks.onSpawn?.(pid);
  } catch (error) {
    // Nobody would know this agent is running: stop it, then report the hook's failure.
    hookError = error;
    terminate();
  }

  const exit = await exited;
  clearTimeout(timeoutTimer);
  hooks.signal?.removeEventListener("abort", terminate);
  // Whatever the leader left behind goes with it. During a termination the stragglers keep the rest of the grace period.
  if (run.phase === "running" && processGroupAlive(pid)) killProcessGroup(pid, "SIGKILL");
  while (run.phase === "terminating" && processGroupAlive(pid)) await sleep(POLL_MS);
  clearTimeout(killTimer);
  if (processGroupAlive(pid)) killProcessGroup(pid, "SIGKILL");
  for (let waited = 0; processGroupAlive(pid) && waited < STREAM_CLOSE_MS; waited += POLL_MS) await sleep(POLL_MS);

  const closeTimer = new AbortController();
  const closed = await Promise.race([
    pumps.then(() => true),
    sleep(STREAM_CLOSE_MS, false, { signal: closeTimer.signal }).catch(() => true),
  ]);
  closeTimer.abort();
  if (!closed) {
    subprocess.stdout?.destroy();
    subprocess.stderr?.destroy();
    await pumps;
    if (!logError) log.write("\n[cos] stopped reading: a process that left the agent's process group still holds its output open\n");
  }
  await subprocess;
  log.end();
  await finish(log);
  if (hookError) throw hookError;

  const fromFile = readResultFile(resultFile);
  return {
    exitCode: exit.code,
    signal: exit.signal,
    timedOut,
    durationMs: Math.round(performance.now() - started),
    output: fromFile ?? tail.text(),
    resultFromFile: fromFile !== null,
    logPath,
    promptFile,
    pid,
  };
}

/** Keeps the last `cap` bytes of a stream without ever holding more than `cap` plus one chunk. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    if (this.cap === 0) return;
    if (chunk.length >= this.cap) {
      // A copy, so the big chunk behind the slice can be freed.
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.cap))];
      this.size = this.cap;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.cap) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks, this.size);
    return utf8FromTail(all.length > this.cap ? all.subarray(all.length - this.cap) : all);
  }
}

/** Decodes bytes cut from the end of a stream: a character split by the cut is dropped, not shown as U+FFFD. */
function utf8FromTail(bytes: Buffer): string {
  let start = 0;
  while (start < bytes.length && start < 4 && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString("utf8");
}

/** The result file's text, or null when the agent did not write it or left it blank. */
function readResultFile(path: string): string | null {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  let text: string;
  if (size <= MAX_RESULT_FILE_BYTES) {
    text = readFileSync(path, "utf8");
  } else {
    const fd = openSync(path, "r");
    try {
      const head = Buffer.alloc(MAX_RESULT_FILE_BYTES);
      readSync(fd, head, 0, head.length, 0);
      text = `${head.toString("utf8").replace(/\uFFFD$/, "")}\n\n[cos] the result file was cut at ${MAX_RESULT_FILE_BYTES} of ${size} bytes\n`;
    } finally {
      closeSync(fd);
    }
  }
  return text.trim() ? text : null;
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

function assertGroupLeader(pid: number): void {
  // -1 would signal every process we may signal, and our own group would take the runner with it.
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) {
    throw new ValidationError(`${pid} is not an agent's process group id`);
  }
}

/** The states (R, S, Z, …) of the processes in a group, from /proc; null where /proc is not available. */
function linuxGroupStates(pgid: number): string[] | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const states: string[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses, so split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) states.push(fields[0]!);
  }
  return states;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function finish(log: WriteStream): Promise<void> {
  if (log.closed) return;
  await once(log, "close").catch(() => undefined);
}
