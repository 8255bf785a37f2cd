import { autoApprovalDue, reviewTier } from "../domain/task/auto-approval.ts";
import { checksFailed } from "../domain/task/checks.ts";
import type { TaskState } from "../domain/task/task.ts";
import type { AppContext } from "../app/context.ts";
import type { Tx } from "../store/db.ts";
import { taskPageLink } from "../pages/links.ts";
import { peopleOf, type Person } from "../app/people.ts";
import type { ReviewCard } from "./types.ts";

/** The review card of a task's current (or last) result; `people` names whoever decided it. */
export function cardOf(ctx: AppContext, t: TaskState, people: ReadonlyMap<string, Person> = new Map()): ReviewCard | null {
  if (!t.result) return null;
  const tier = reviewTier(t.dispatchTier);
  const due = t.finishedAt ? autoApprovalDue({ tier, resultAt: t.finishedAt, checksFailed: checksFailed(t.result) }, ctx.config.review.autoApproveHours) : null;
  const last = t.verdicts.at(-1);
  const decidedNow = t.status !== "review";
  const person = (actor: string): Person => people.get(actor) ?? { actor, name: null };
  let decided: ReviewCard["decided"] = null;
  if (decidedNow && t.autoApproved && t.status === "approved") decided = { verdict: "auto_approved", by: person("timer"), notes: null };
  else if (decidedNow && t.feedback?.automatic && t.feedback.attempt === t.result.attempt) decided = { verdict: "auto_sent_back", by: person("checks"), notes: null };
  else if (decidedNow && last && last.attempt === t.result.attempt) decided = { verdict: last.verdict, by: person(last.by), notes: last.notes };
  else if (decidedNow) decided = { verdict: t.status === "approved" ? "approved" : "discarded", by: person("?"), notes: null };
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
    pageUrl: taskPageLink(ctx, t.id),
  };
}

/** The card with the name of whoever decided it looked up (in `db`, or the transaction under way). */
export async function namedCardOf(ctx: AppContext, t: TaskState, db: Pick<Tx, "execute"> = ctx.db): Promise<ReviewCard | null> {
  const by = t.verdicts.at(-1)?.by;
  return cardOf(ctx, t, by ? await peopleOf(db, [by]) : new Map());
}
