import { assertNever } from "../events.ts";

// DESIGN §14: a project's checks run after a task's run and before review; what each did is recorded with
// the result. This file is what the rest of cos knows of a check's outcome: whether the result failed its
// checks (auto-approval, the automatic send-back and the card all ask this one question), and the words
// every surface shows for them: `✓ test 41 s · ✗ lint`.

export const CHECK_OUTCOMES = ["passed", "failed", "timed_out"] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];

/** What `review.onFailedChecks` may say: leave the task to a person, or send it back once on its own. */
export const ON_FAILED_CHECKS = ["review", "send-back"] as const;
export type OnFailedChecks = (typeof ON_FAILED_CHECKS)[number];

/** A check's name: a file name too (its log is `checks/<name>.log` in the run folder). */
export const CHECK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

/** The record keeps this many of a check's last lines; its whole output stays in the run folder. */
export const CHECK_TAIL_LINES = 30;
/** …and each of them cut to this many characters (a minified bundle is one line). */
export const CHECK_LINE_MAX = 400;

export interface CheckRecord {
  name: string;
  outcome: CheckOutcome;
  /** null when it was killed at its timeout or could not start. */
  exitCode: number | null;
  durationMs: number;
  /** Its last lines (stdout and stderr as they came), at most CHECK_TAIL_LINES. */
  tail: string[];
  /** What cos noticed beside the outcome: files it wrote put back, a command that could not start. */
  note?: string | null;
}

/** The checks of a result that did not pass; none for a result recorded without checks. */
export function failedChecks(checks: readonly CheckRecord[] | null | undefined): CheckRecord[] {
  return (checks ?? []).filter((c) => c.outcome !== "passed");
}

/** A result whose checks did not all pass: never approved on its own (DESIGN §14). */
export function checksFailed(result: { checks?: readonly CheckRecord[] | null } | null | undefined): boolean {
  return failedChecks(result?.checks).length > 0;
}

/** `41 s`, `3.2 s`, `2 min 5 s`: how long a check took, as a card shows it. */
export function checkDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const rest = seconds % 60;
  return `${Math.floor(seconds / 60)} min${rest ? ` ${rest} s` : ""}`;
}

/** One check in a line: `✓ test 41 s`, `✗ lint`, `✗ e2e timed out`. */
export function checkWord(check: CheckRecord): string {
  switch (check.outcome) {
    case "passed":
      return `✓ ${check.name} ${checkDuration(check.durationMs)}`;
    case "failed":
      return `✗ ${check.name}`;
    case "timed_out":
      return `✗ ${check.name} timed out`;
    default:
      return assertNever(check.outcome);
  }
}

/**
 * The checks in one line, as cards, the digest and `cos task show` print them; null for a result that
 * carries no checks (its project has none, or it was recorded before checks existed).
 */
export function checksLine(checks: readonly CheckRecord[] | null | undefined): string | null {
  if (!checks) return null;
  if (!checks.length) return "checks not run: the run changed nothing";
  return checks.map(checkWord).join(" · ");
}

/**
 * The checks as a task's whole view shows them (`cos task show`, chat's `/show`): the line, then each failed
 * check with how it ended and every line the record kept, then what cos noted beside a check.
 */
export function checksReport(checks: readonly CheckRecord[] | null | undefined): string[] {
  const line = checksLine(checks);
  if (!line || !checks) return [];
  const out = [`checks: ${line}`];
  for (const check of checks) {
    if (check.outcome !== "passed") {
      out.push(`  ${check.name}: ${checkEnding(check)}${check.tail.length ? "; its last lines:" : "; it printed nothing"}`);
      out.push(...check.tail.map((l) => `    ${l}`));
    }
    if (check.note) out.push(`  ${check.name}: ${check.note}`);
  }
  return out;
}

/** How a failed check ended, in words: `exit code 1 after 3.2 s`, `timed out after 10 min`. */
export function checkEnding(check: CheckRecord): string {
  if (check.outcome === "timed_out") return `timed out after ${checkDuration(check.durationMs)}`;
  if (check.exitCode === null) return `did not run (${check.note ?? "no exit code"})`;
  return `exit code ${check.exitCode} after ${checkDuration(check.durationMs)}`;
}

/**
 * The notes of an automatic send-back: each failing check, how it ended and its last lines. They open the
 * next attempt's prompt, where the agent reads them as a reviewer's notes (DESIGN §6).
 */
export function failingOutputNotes(checks: readonly CheckRecord[]): string {
  const parts = failedChecks(checks).map((check) => {
    const head = `✗ ${check.name}: ${checkEnding(check)}`;
    return check.tail.length ? `${head}; its last lines:\n${check.tail.join("\n")}` : `${head}; it printed nothing`;
  });
  return [`The project's checks failed on this result, so it was sent back automatically (not by a person):`, ...parts].join("\n\n");
}

/** Colour and cursor sequences (test runners print them even without a terminal), and other control characters. */
const TERMINAL_CODES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-_]|[\u0000-\u0008\u000b-\u001f\u007f]/g;

/**
 * A check's last lines, cut to what the record keeps: the last CHECK_TAIL_LINES, each at most CHECK_LINE_MAX,
 * as plain text (colours dropped: a card is no terminal). A line rewritten with `\r` (a progress bar) counts as
 * what it ended as.
 */
export function checkTail(text: string): string[] {
  const lines = text
    .replace(/\r\n/g, "\n")
    .split("\n")
    .map((line) => (line.split("\r").filter(Boolean).at(-1) ?? "").replace(TERMINAL_CODES, ""));
  while (lines.length && lines.at(-1)!.trim() === "") lines.pop();
  const last = lines.slice(-CHECK_TAIL_LINES);
  return last.map((line) => (line.length > CHECK_LINE_MAX ? `${line.slice(0, CHECK_LINE_MAX - 1)}…` : line));
}
