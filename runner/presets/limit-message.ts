import { messageLine, type LimitReport } from "./preset.ts";
import { exactReset, resetTime } from "./reset-time.ts";

// Finding a CLI's usage-limit message in what a run printed. Each preset names the lines that announce its
// limit; they are matched at the start of a line (after decoration), so prose about limits is not one.

/** Decoration CLIs put before a message: bullets, box-drawing, "ERROR:", "[API Error: …", a timestamp in brackets. */
const LINE_PREFIX = /^(?:\s|[⎿■●•*>!│|─-]|\[[^\]]{0,40}\]\s|\[?(?:API )?Error:\s*)*/i;
/** How much of the end of a run's output is searched: the message is the last thing a CLI prints before it gives up. */
const SCAN_CHARS = 16 * 1024;

export interface LimitFound extends LimitReport {
  /** The text from the limit line on. */
  after: string;
}

/** The last line of `text` that announces a limit, with the reset time it (or the next two lines) names. */
export function findLimitLine(text: string, patterns: RegExp[], now: Date): LimitFound | null {
  const lines = stripAnsi(text).split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.replace(/\r$/, "").replace(LINE_PREFIX, "");
    if (!patterns.some((p) => p.test(line))) continue;
    // The reset time is on the line, or on a neighbour: CLIs wrap, and aider prints the API's error just before its own.
    const around = [line, ...lines.slice(i + 1, i + 3), ...lines.slice(Math.max(0, i - 2), i).reverse()].join(" ");
    const epoch = /usage limit reached\|(\d{9,11})\b/i.exec(line);
    return {
      resetAt: epoch ? exactReset(Number(epoch[1]), now) : resetTime(around, now),
      message: messageLine(line),
      after: lines.slice(i).join("\n"),
    };
  }
  return null;
}

export function limitIn(text: string, patterns: RegExp[], now: Date): LimitReport | null {
  const found = findLimitLine(text, patterns, now);
  return found && { resetAt: found.resetAt, message: found.message };
}

/** The end of the run's output to search for a limit message: the log (stdout and stderr) when given, else stdout. */
export function scanText(output: string, log: string): string {
  const text = log.trim() ? log : output;
  if (text.length <= SCAN_CHARS) return text;
  const tail = text.slice(-SCAN_CHARS);
  return tail.slice(tail.indexOf("\n") + 1);
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, "");
}
