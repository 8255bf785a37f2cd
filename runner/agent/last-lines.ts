import type { RunOutcome } from "../../src/app/runs.ts";
import type { AgentRunResult } from "./run.ts";

// Why a run failed, as its agent said it: the last meaningful lines it printed, stderr first (where
// `Cannot find module …` and `BOOM: missing config file` go), and where the whole log is. Stack frames,
// blank lines and a runtime's banner are not meaningful; an error line shortly before the end is, so
// the lines shown start there when it would otherwise fall just outside them.

/** At most this many lines, each at most LINE_MAX characters. */
export const LAST_LINES = 6;
const LINE_MAX = 300;
/** How far back from the end an error line pulls the window. */
const ERROR_REACH = 20;

const NOISE = [
  /^\s*$/,
  /^\s+at\s/, // a stack frame
  /^\s*[\^~]+\s*$/, // the caret under a source line
  /^\s*[{}[\]()]+[,;]?\s*$/,
  /^Node\.js v\d/,
  /^node:internal\//,
  /^\s*throw\s+\w+;?\s*$/,
  /^\s*\.\.\. \d+ more\s*$/,
];
const ERROR_LINE = /\b(error|exception|fatal|panic|cannot|can't|could not|failed|denied|not found|no such|missing|refused|traceback)\b/i;

/** Terminal colours and other control characters, which mean nothing in a chat. */
function plain(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trimEnd();
}

function clipLine(line: string): string {
  const points = Array.from(line);
  return points.length <= LINE_MAX ? line : `${points.slice(0, LINE_MAX - 1).join("")}…`;
}

/** The last meaningful lines of one stream. */
export function meaningfulTail(text: string, max = LAST_LINES): string[] {
  const lines = text.split(/\r?\n|\r/).map(plain).filter((l) => !NOISE.some((noise) => noise.test(l)));
  let start = Math.max(0, lines.length - max);
  for (let i = start - 1; i >= 0 && i >= lines.length - ERROR_REACH; i--) {
    if (ERROR_LINE.test(lines[i]!)) {
      start = i;
      break;
    }
  }
  return lines.slice(start, start + max).map(clipLine);
}

/** The agent's last meaningful lines: stderr's when it printed any, else stdout's. */
export function lastLines(streams: { stdout: string; stderr: string }): string[] {
  const fromStderr = meaningfulTail(streams.stderr);
  return fromStderr.length ? fromStderr : meaningfulTail(streams.stdout);
}

/**
 * The outcome with what a person needs to see why it failed: the agent's last lines and its log's path.
 * An outcome that is no failure (a result with exit code 0) is left as it is.
 */
export function withLastLines(outcome: RunOutcome, run: Pick<AgentRunResult, "lastWords" | "logPath">): RunOutcome {
  if (outcome.kind === "stopped" || (outcome.kind === "result" && outcome.exitCode === 0)) return outcome;
  return { ...outcome, tail: lastLines(run.lastWords), log: run.logPath };
}
