import type { FailureOutput, FailureReason, RunStopped, TaskState } from "../domain/task/task.ts";
import { clockTime } from "../plan/hold-words.ts";
import type { Hints } from "../shared/hints.ts";

// A run in words, one home for every surface: the message saying it started (and the edit saying how
// it ended), the failure alert with what the agent printed last and where its whole log is, and the
// confirmation that a cancelled run stopped. The chat alert, `cos task show` and the digest say the same.

/** A length of time as people say it: "12 s", "3 min", "1 h 5 min". */
export function durationWords(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
}

/** The facts of the attempt under way: agent, attempt, runner. */
export function runStartedLine(state: Pick<TaskState, "agent" | "attempt" | "runner" | "runs">): string {
  const run = state.runs.at(-1);
  const runner = run?.runner ?? state.runner;
  return `${state.agent} · attempt ${run?.attempt ?? state.attempt}${runner ? ` · on runner ${runner}` : ""}`;
}

/** How the run under way ended, for the edit of its start message. */
export function runEndedTitle(state: TaskState, at: string): string {
  const run = state.runs.at(-1);
  const took = run?.startedAt ? ` after ${durationWords(Date.parse(at) - Date.parse(run.startedAt))}` : "";
  const head = `#${state.id} ${state.title}`;
  switch (state.status) {
    case "review":
      return `✅ ${head}: finished${took}, in review`;
    case "cancelled":
      return `⏹ ${head}: cancelled${took}; its agent is being stopped`;
    case "failed":
      return `❌ ${head}: failed${took}; no attempts left`;
    case "queued":
      if (state.failure?.reason === "usage_limit") return `⏳ ${head}: stopped by its CLI's usage limit${took}; tried again when it lifts`;
      if (state.feedback?.automatic && state.feedback.attempt === run?.attempt) {
        return `↩️ ${head}: finished${took}, but its checks failed: sent back automatically for attempt ${state.attempt}`;
      }
      return `❌ ${head}: attempt ${run?.attempt ?? state.attempt} failed${took}; queued again`;
    default:
      return `${head}: ${state.status}${took}`;
  }
}

type Failed = { attempt: number; reason: FailureReason | string; detail: string; final: boolean; retryAt?: string | null } & FailureOutput;

/** What happened to the attempt and what comes next, in one line. */
export function failureHeadline(d: Failed, nextAttempt: number, claimTimeoutMinutes: number, timeZone: string): string {
  if (d.reason === "claim_timeout") {
    return `no runner claimed attempt ${d.attempt} within ${claimTimeoutMinutes} min: back in the queue (no attempt spent)`;
  }
  if (d.reason === "usage_limit") {
    return `attempt ${d.attempt}: the agent hit its usage limit; it runs again${d.retryAt ? ` after ${clockTime(d.retryAt, timeZone)}` : ""} (no attempt spent)`;
  }
  return `attempt ${d.attempt}: ${d.detail}; ${d.final ? "no attempts left" : `queued again for attempt ${nextAttempt}`}`;
}

/** The agent's last meaningful lines, set off from the text around them. */
export function tailLines(output: FailureOutput): string[] {
  return output.tail?.length ? ["its last lines (stderr first):", ...output.tail.map((line) => `│ ${line}`)] : [];
}

/** Where the whole log of the failed run is. */
export function logLine(output: FailureOutput): string | null {
  return output.log ? `the whole log: ${output.log}${output.runner ? ` (on runner ${output.runner})` : ""}` : null;
}

/** The failure alert's lines: the headline, the agent's last lines, where the whole log is and how to see the task. */
export function failureWords(
  d: Failed,
  nextAttempt: number,
  ctx: { config: { resolver: { claimTimeoutMinutes: number }; digest: { timezone: string } } },
  hints: Hints,
  taskId?: number,
): string[] {
  const log = logLine(d);
  return [
    failureHeadline(d, nextAttempt, ctx.config.resolver.claimTimeoutMinutes, ctx.config.digest.timezone),
    ...tailLines(d),
    ...(log ? [log] : []),
    ...(taskId !== undefined && d.tail?.length ? [`the task: ${hints.show(taskId)}`] : []),
  ];
}

/** The confirmation that a cancelled run stopped. */
export function stoppedLines(d: RunStopped): string[] {
  return [
    `its agent on runner ${d.runner} was ended (attempt ${d.attempt})`,
    ...(d.worktree ? [d.worktree.removed ? `its worktree ${d.worktree.path} was removed; its branch stays` : `its worktree ${d.worktree.path} is kept`] : []),
  ];
}
