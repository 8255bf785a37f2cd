import type { AppContext } from "../app/context.ts";
import { loadTaskIn } from "../app/tasks.ts";
import { cardOf } from "../chat/cards.ts";
import type { Notification } from "../chat/types.ts";
import { endedBadly } from "../domain/task/dependencies.ts";
import type { TaskState } from "../domain/task/task.ts";
import type { TierChangedData } from "../domain/trust/aggregate.ts";
import { trustNumbersText } from "../domain/trust/trust.ts";
import { blockerEndedAlert } from "../plan/hold-words.ts";
import type { Tx } from "../store/db.ts";
import type { StoredEvent } from "../store/event-store.ts";

export interface Pending {
  notification: Notification;
  /** Unique per event and notification: a retried append cannot enqueue twice. */
  key: string;
  taskId: number | null;
  attempt: number | null;
}

/** The notifications a batch of events causes, read inside the appending transaction. */
export async function notificationsFor(ctx: AppContext, tx: Tx, events: StoredEvent[]): Promise<Pending[]> {
  const out: Pending[] = [];
  for (const event of events) {
    const taskId = event.stream.startsWith("task-") ? Number(event.stream.slice(5)) : null;
    const key = (kind: string) => `${event.eventId}:${kind}`;
    switch (event.type) {
      case "TaskResultReported":
      case "VerdictRecorded":
      case "TaskAutoApproved": {
        const { state } = await loadTaskIn(tx, taskId!);
        const card = cardOf(ctx, state);
        if (!card) break;
        const kind = event.type === "TaskResultReported" ? "review_card" : "card_update";
        out.push({ notification: { kind, card }, key: key(kind), taskId, attempt: card.attempt });
        if (event.type === "VerdictRecorded") out.push(...(await heldDependents(tx, state, key)));
        break;
      }
      case "TierChanged": {
        const d = event.data as TierChangedData;
        const why = d.reason === "trust" ? `trust (${trustNumbersText(d)})` : "a pin";
        out.push({
          notification: { kind: "trust_change", block: { title: `Tier change: ${d.agent} ${d.type}`, lines: [`${d.from} → ${d.to} by ${why}`] } },
          key: key("trust_change"),
          taskId: null,
          attempt: null,
        });
        break;
      }
      case "TaskFailed": {
        const d = event.data as { attempt: number; detail: string; final: boolean; reason: string; retryAt: string | null };
        const { state } = await loadTaskIn(tx, taskId!);
        if (d.reason === "usage_limit") {
          // Said once, when the limit begins: the tries while it lasts are the task's activity, not a message each.
          if (state.limitStreak === 1) {
            out.push({
              notification: {
                kind: "failure",
                block: { title: `#${taskId} ${state.title} waits for a usage limit`, lines: [`${d.detail}; tried again after ${d.retryAt ?? "the next pass"}, no attempt spent`] },
              },
              key: key("failure"),
              taskId,
              attempt: d.attempt,
            });
          }
          break;
        }
        const next = d.final ? "no attempts left" : `queued again for attempt ${state.attempt}`;
        out.push({
          notification: { kind: "failure", block: { title: `#${taskId} ${state.title} failed`, lines: [`attempt ${d.attempt}: ${d.detail}; ${next}`] } },
          key: key("failure"),
          taskId,
          attempt: d.attempt,
        });
        out.push(...(await heldDependents(tx, state, key)));
        break;
      }
      case "TaskCancelled":
        out.push(...(await heldDependents(tx, (await loadTaskIn(tx, taskId!)).state, key)));
        break;
      default:
        break;
    }
  }
  return out;
}

/** The queued tasks that `blocker`, having just ended badly, now holds for a person (DESIGN §3). */
async function heldDependents(tx: Tx, blocker: TaskState, key: (kind: string) => string): Promise<Pending[]> {
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
        lines: [blockerEndedAlert(Number(r.id), { id: blocker.id, status: blocker.status })],
      },
    },
    key: key(`held-${r.id}`),
    taskId: Number(r.id),
    attempt: null,
  }));
}
