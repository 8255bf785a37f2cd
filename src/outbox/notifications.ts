import type { InStatement, InValue } from "@libsql/client";
import type { AppContext } from "../app/context.ts";
import { cardOf } from "../chat/cards.ts";
import type { Notification, Platform } from "../chat/types.ts";
import { endedBadly } from "../domain/task/dependencies.ts";
import type { TaskState } from "../domain/task/task.ts";
import type { TierChangedData } from "../domain/trust/aggregate.ts";
import { trustNumbersText } from "../domain/trust/trust.ts";
import { blockerEndedAlert } from "../plan/hold-words.ts";
import type { Appending } from "../store/event-store.ts";

export interface Pending {
  notification: Notification;
  /** Unique per event and notification: a retried append cannot enqueue twice. */
  key: string;
  taskId: number | null;
  attempt: number | null;
}

/** A notification the batch itself works out: the queued tasks a blocker that ended badly now holds. */
interface HeldDependents {
  blocker: TaskState;
  /** The key's prefix; each dependent adds `held-<id>`. */
  key: string;
}

/**
 * The notifications a batch of events causes, from the events and each stream's state after them
 * (the state the append folded in memory), without a read: a card is made from the task's state,
 * and the held dependents of a blocker are found by the batch's own INSERT … SELECT.
 */
export function notificationsFor(ctx: AppContext, appending: Appending): { pending: Pending[]; held: HeldDependents[] } {
  const pending: Pending[] = [];
  const held: HeldDependents[] = [];
  // The queued tasks that a blocker, having just ended badly, now holds for a person (DESIGN §3).
  const heldBy = (state: TaskState, key: string) => {
    if (endedBadly(state.status)) held.push({ blocker: state, key });
  };
  for (const event of appending.events) {
    const taskId = event.stream.startsWith("task-") ? Number(event.stream.slice(5)) : null;
    const key = (kind: string) => `${event.eventId}:${kind}`;
    const task = () => appending.states.get(event.stream) as TaskState;
    switch (event.type) {
      case "TaskResultReported":
      case "VerdictRecorded":
      case "TaskAutoApproved": {
        const state = task();
        const card = cardOf(ctx, state);
        if (!card) break;
        const kind = event.type === "TaskResultReported" ? "review_card" : "card_update";
        pending.push({ notification: { kind, card }, key: key(kind), taskId, attempt: card.attempt });
        if (event.type === "VerdictRecorded") heldBy(state, `${event.eventId}:`);
        break;
      }
      case "TierChanged": {
        const d = event.data as TierChangedData;
        const why = d.reason === "trust" ? `trust (${trustNumbersText(d)})` : "a pin";
        pending.push({
          notification: { kind: "trust_change", block: { title: `Tier change: ${d.agent} ${d.type}`, lines: [`${d.from} → ${d.to} by ${why}`] } },
          key: key("trust_change"),
          taskId: null,
          attempt: null,
        });
        break;
      }
      case "TaskFailed": {
        const d = event.data as { attempt: number; detail: string; final: boolean; reason: string; retryAt: string | null };
        const state = task();
        if (d.reason === "usage_limit") {
          // Said once, when the limit begins: the tries while it lasts are the task's activity, not a message each.
          if (state.limitStreak === 1) {
            pending.push({
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
        pending.push({
          notification: { kind: "failure", block: { title: `#${taskId} ${state.title} failed`, lines: [`attempt ${d.attempt}: ${d.detail}; ${next}`] } },
          key: key("failure"),
          taskId,
          attempt: d.attempt,
        });
        heldBy(state, `${event.eventId}:`);
        break;
      }
      case "TaskCancelled":
        heldBy(task(), `${event.eventId}:`);
        break;
      default:
        break;
    }
  }
  return { pending, held };
}

/** The outbox rows of a batch of events, one per notification and platform, as statements of that batch. */
export function outboxStatements(ctx: AppContext, appending: Appending, platforms: Platform[]): InStatement[] {
  const { pending, held } = notificationsFor(ctx, appending);
  const at = ctx.clock().toISOString();
  const statements: InStatement[] = [];
  for (const platform of platforms) {
    for (const p of pending) {
      statements.push({
        sql: `INSERT OR IGNORE INTO outbox (platform, kind, payload, dedupe_key, task_id, attempt, created_at, next_attempt_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [platform, p.notification.kind, JSON.stringify(p.notification), `${platform}:${p.key}`, p.taskId, p.attempt, at, at],
      });
    }
    for (const h of held) statements.push(heldStatement(platform, h, at));
  }
  return statements;
}

/** Stands for a dependent's id in the alert's words, so the words are written once (hold-words.ts) and the id filled in by SQL. */
const DEPENDENT = 9_007_199_254_740_991;

/**
 * The `held` notification of every queued task that `h.blocker` blocks, by INSERT … SELECT after the
 * batch's projection writes: the same JSON as `{ kind: "held", block: { title, lines } }`.
 */
function heldStatement(platform: Platform, h: HeldDependents, at: string): InStatement {
  // The alert's text around the dependent's id, as SQL: 'its blocker … (/cancel ' || t.id || ') or …'.
  const parts = blockerEndedAlert(DEPENDENT, { id: h.blocker.id, status: h.blocker.status }).split(String(DEPENDENT));
  const alert = parts.map(() => "?").join(" || t.id || ");
  const args: InValue[] = [platform, ...parts, `${platform}:${h.key}`, at, at, h.blocker.id];
  return {
    sql: `INSERT OR IGNORE INTO outbox (platform, kind, payload, dedupe_key, task_id, attempt, created_at, next_attempt_at)
          SELECT ?, 'held',
                 json_object('kind', 'held', 'block', json_object('title', '#' || t.id || ' ' || t.title || ' is held', 'lines', json_array(${alert}))),
                 ? || 'held-' || t.id, t.id, NULL, ?, ?
          FROM task_blockers b JOIN tasks t ON t.id = b.task_id
          WHERE b.blocker_id = ? AND t.status = 'queued' ORDER BY t.id`,
    args,
  };
}
