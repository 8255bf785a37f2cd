import { autoApprovalDue, reviewTier } from "../domain/task/auto-approval.ts";
import { checksFailed } from "../domain/task/checks.ts";
import type { TaskState } from "../domain/task/task.ts";
import type { AppContext } from "../app/context.ts";
import { diffLink } from "./diff-link.ts";
import type { ReviewCard } from "./types.ts";

/** The review card of a task's current (or last) result. */
export function cardOf(ctx: AppContext, t: TaskState): ReviewCard | null {
  if (!t.result) return null;
  const tier = reviewTier(t.dispatchTier);
  const due = t.finishedAt ? autoApprovalDue({ tier, resultAt: t.finishedAt, checksFailed: checksFailed(t.result) }, ctx.config.review.autoApproveHours) : null;
  const last = t.verdicts.at(-1);
  const decidedNow = t.status !== "review";
  let decided: ReviewCard["decided"] = null;
  if (decidedNow && t.autoApproved && t.status === "approved") decided = { verdict: "auto_approved", by: "timer", notes: null };
  else if (decidedNow && t.feedback?.automatic && t.feedback.attempt === t.result.attempt) decided = { verdict: "auto_sent_back", by: "checks", notes: null };
  else if (decidedNow && last && last.attempt === t.result.attempt) decided = { verdict: last.verdict, by: last.by, notes: last.notes };
  else if (decidedNow) decided = { verdict: t.status === "approved" ? "approved" : "discarded", by: "?", notes: null };
  return {
    taskId: t.id,
    attempt: t.result.attempt,
    title: t.title,
    agent: t.agent,
    type: t.type,
    tier,
    summary: t.result.summary,
    diffStat: t.result.diffStat,
    cliWarning: t.result.cli?.warning ?? null,
    ...(t.result.checks ? { checks: t.result.checks } : {}),
    ...(t.result.flags?.length ? { flags: t.result.flags } : {}),
    autoApproveAt: due === null ? null : new Date(due).toISOString(),
    decided,
    diffUrl: t.isolation === "worktree" ? diffLink(ctx.env, t.id) : null,
  };
}
