import type { AppContext } from "../app/context.ts";
import { loadTask } from "../app/tasks.ts";
import { listTasks, type TaskListItem } from "../app/views.ts";
import type { CardText } from "../chat/card-text.ts";
import { namedCardOf } from "../chat/cards.ts";
import { whyQueued } from "../plan/explain.ts";
import { cardWords, pageHints } from "./words.ts";

// The two lists of the review pages (DESIGN §13): what waits for a person's verdict, oldest result first,
// each in its card's words; and what waits to run, each with the reason `cos why` gives.

export interface ReviewItem {
  taskId: number;
  /** When the result was reported: the queue's order. */
  finishedAt: string;
  /** The card's words: title, facts (agent, type, tier, attempt, diff stat), summary, timer. */
  text: CardText;
}

export async function reviewQueue(ctx: AppContext): Promise<ReviewItem[]> {
  const items: ReviewItem[] = [];
  for (const { id } of await listTasks(ctx, "review")) {
    const { state } = await loadTask(ctx, id);
    const card = await namedCardOf(ctx, state);
    if (card) items.push({ taskId: id, finishedAt: state.finishedAt ?? state.updatedAt, text: cardWords(ctx, card) });
  }
  return items.sort((a, b) => (a.finishedAt < b.finishedAt ? -1 : a.finishedAt > b.finishedAt ? 1 : a.taskId - b.taskId));
}

export interface QueuedItem {
  task: TaskListItem;
  /** Why it waits, or that the next pass dispatches it, as `cos why` says it. */
  why: string;
}

/** Every queued task, in the order the resolver considers them: highest priority, then oldest. */
export async function waitingQueue(ctx: AppContext): Promise<QueuedItem[]> {
  const hints = pageHints(ctx);
  const [queued, reasons] = await Promise.all([listTasks(ctx, "queued", hints), whyQueued(ctx, hints)]);
  return queued
    .sort((a, b) => b.priority - a.priority || a.id - b.id)
    .map((task) => ({ task, why: reasons.get(task.id)?.text ?? "queued" }));
}
