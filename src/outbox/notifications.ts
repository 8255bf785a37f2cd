import type { AppContext } from "../app/context.ts";
import { loadTaskIn } from "../app/tasks.ts";
import { namedCardOf } from "../chat/cards.ts";
import { peopleOf, personMark } from "../app/people.ts";
import type { Notification, TextBlock } from "../chat/types.ts";
import { endedBadly } from "../domain/task/dependencies.ts";
import type { FailureOutput, RunStopped, TaskState } from "../domain/task/task.ts";
import type { TierChangedData } from "../domain/trust/aggregate.ts";
import { trustNumbersText } from "../domain/trust/trust.ts";
import { blockerEndedAlert } from "../plan/hold-words.ts";
import { failureWords, runEndedTitle, runStartedLine, stoppedLines } from "../app/run-words.ts";
import type { Hints } from "../shared/hints.ts";
import type { Tx } from "../store/db.ts";
import type { StoredEvent } from "../store/event-store.ts";

export interface Pending {
  notification: Notification;
  /** Unique per event and notification: a retried append cannot enqueue twice. */
  key: string;
  taskId: number | null;
  attempt: number | null;
}

type FailedData = { attempt: number; detail: string; final: boolean; reason: string; retryAt: string | null; attemptSpent?: boolean } & FailureOutput;

/**
 * The notifications a batch of events causes, read inside the appending transaction, in the words of
 * the platform they go to (`hints`: the commands they point to).
 */
export async function notificationsFor(ctx: AppContext, tx: Tx, events: StoredEvent[], hints: Hints): Promise<Pending[]> {
  const out: Pending[] = [];
  for (const event of events) {
    const taskId = event.stream.startsWith("task-") ? Number(event.stream.slice(5)) : null;
    const key = (kind: string) => `${event.eventId}:${kind}`;
    const push = (notification: Notification, attempt: number | null = null) =>
      out.push({ notification, key: key(notification.kind), taskId, attempt });
    switch (event.type) {
      case "TaskStarted": {
        const { state } = await loadTaskIn(tx, taskId!);
        push({ kind: "run_started", taskId: state.id, attempt: state.attempt, block: { title: `#${state.id} ${state.title}`, lines: [runStartedLine(state)] } }, state.attempt);
        break;
      }
      case "TaskResultReported":
      case "VerdictRecorded":
      case "TaskAutoApproved": {
        const { state } = await loadTaskIn(tx, taskId!);
        const card = await namedCardOf(ctx, state, tx);
        if (!card) break;
        push({ kind: event.type === "TaskResultReported" ? "review_card" : "card_update", card }, card.attempt);
        if (event.type === "TaskResultReported" && state.runs.at(-1)?.startedAt) push(runEnded(state, event.meta.at), card.attempt);
        if (event.type === "VerdictRecorded") out.push(...(await heldDependents(tx, state, key, hints)));
        break;
      }
      case "TierChanged": {
        const d = event.data as TierChangedData;
        const by = personMark((await peopleOf(tx, [event.meta.actor])).get(event.meta.actor)!);
        const why =
          d.reason === "trust"
            ? `by trust (${trustNumbersText(d)})`
            : d.pin
              ? `pinned by ${by}`
              : `pin cleared by ${by}; trust decides again`;
        push({ kind: "trust_change", block: { title: `Tier change: ${d.agent} ${d.type}`, lines: [`${d.from} → ${d.to} ${why}`] } });
        break;
      }
      case "TaskFailed": {
        const d = event.data as FailedData;
        const { state } = await loadTaskIn(tx, taskId!);
        if (state.runs.at(-1)?.startedAt) push(runEnded(state, event.meta.at), d.attempt);
        if (d.reason === "usage_limit") {
          // Said once, when the limit begins: the tries while it lasts are the task's activity, not a message each.
          if (state.limitStreak === 1) {
            push(
              {
                kind: "failure",
                block: { title: `#${taskId} ${state.title} waits for a usage limit`, lines: [`${d.detail}; tried again after ${d.retryAt ?? "the next pass"}, no attempt spent`] },
              },
              d.attempt,
            );
          }
          break;
        }
        push({ kind: "failure", block: { title: `#${taskId} ${state.title} failed`, lines: failureWords(d, state.attempt, ctx, hints, state.id) } }, d.attempt);
        out.push(...(await heldDependents(tx, state, key, hints)));
        break;
      }
      case "TaskCancelled": {
        const { state } = await loadTaskIn(tx, taskId!);
        if (state.runs.at(-1)?.startedAt) push(runEnded(state, event.meta.at), state.attempt);
        out.push(...(await heldDependents(tx, state, key, hints)));
        break;
      }
      case "TaskRunStopped": {
        const d = event.data as RunStopped;
        const { state } = await loadTaskIn(tx, taskId!);
        push({ kind: "stopped", block: { title: `#${state.id} ${state.title}: its run stopped`, lines: stoppedLines(d) } }, d.attempt);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** The edit of a run's start message once it ended: how, and after how long. */
function runEnded(state: TaskState, at: string): Notification {
  return { kind: "run_ended", block: { title: runEndedTitle(state, at), lines: [runStartedLine(state)] } satisfies TextBlock };
}

/** The queued tasks that `blocker`, having just ended badly, now holds for a person (DESIGN §3). */
async function heldDependents(tx: Tx, blocker: TaskState, key: (kind: string) => string, hints: Hints): Promise<Pending[]> {
  if (!endedBadly(blocker.status)) return [];
  const rows = await tx.execute({
    sql: `SELECT t.id, t.title FROM task_blockers b JOIN tasks t ON t.id = b.task_id WHERE b.blocker_id = ? AND t.status = 'queued' ORDER BY t.id`,
    args: [blocker.id],
  });
  return rows.rows.map((r) => ({
    notification: {
      kind: "held" as const,
      block: {
        title: `#${r.id} ${r.title} is held`,
        lines: [blockerEndedAlert(Number(r.id), { id: blocker.id, status: blocker.status }, hints)],
      },
    },
    key: key(`held-${r.id}`),
    taskId: Number(r.id),
    attempt: null,
  }));
}
