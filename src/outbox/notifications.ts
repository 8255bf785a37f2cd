import type { InStatement, InValue } from "@libsql/client";
import type { AppContext } from "../app/context.ts";
import { namedCardOf } from "../chat/cards.ts";
import { peopleOf, personMark } from "../app/people.ts";
import type { Notification, Platform, TextBlock } from "../chat/types.ts";
import { endedBadly } from "../domain/task/dependencies.ts";
import type { FailureOutput, RunStopped, TaskState } from "../domain/task/task.ts";
import type { TierChangedData } from "../domain/trust/aggregate.ts";
import { trustNumbersText } from "../domain/trust/trust.ts";
import { blockerEndedAlert } from "../plan/hold-words.ts";
import { failureWords, runEndedTitle, runStartedLine, stoppedLines } from "../app/run-words.ts";
import { hintsFor, type Hints } from "../shared/hints.ts";
import type { Executor } from "../store/db.ts";
import type { Appending } from "../store/event-store.ts";

export interface Pending {
  notification: Notification;
  /** Unique per event and notification: a retried append cannot enqueue twice. */
  key: string;
  taskId: number | null;
  attempt: number | null;
}

type FailedData = { attempt: number; detail: string; final: boolean; reason: string; retryAt: string | null; attemptSpent?: boolean } & FailureOutput;

/** A notification the batch itself works out: the queued tasks a blocker that ended badly now holds. */
interface HeldDependents {
  blocker: TaskState;
  /** The key's prefix; each dependent adds `held-<id>`. */
  key: string;
}

/**
 * The notifications a batch of events causes, in the words of the platform they go to (`hints`: the
 * commands they point to): from the events and each stream's state after them (the state the append
 * folded in memory), and the names of the people who acted (read before the batch, from `db`). The
 * held dependents of a blocker are found by the batch's own INSERT … SELECT (`held`).
 */
export async function notificationsFor(
  ctx: AppContext,
  db: Executor,
  appending: Appending,
  hints: Hints,
): Promise<{ pending: Pending[]; held: HeldDependents[] }> {
  const out: Pending[] = [];
  const held: HeldDependents[] = [];
  for (const event of appending.events) {
    const taskId = event.stream.startsWith("task-") ? Number(event.stream.slice(5)) : null;
    const key = (kind: string) => `${event.eventId}:${kind}`;
    const push = (notification: Notification, attempt: number | null = null) =>
      out.push({ notification, key: key(notification.kind), taskId, attempt });
    const task = () => ({ state: appending.states.get(event.stream) as TaskState });
    // The queued tasks that a blocker, having just ended badly, now holds for a person (DESIGN §3).
    const heldBy = (state: TaskState) => {
      if (endedBadly(state.status)) held.push({ blocker: state, key: `${event.eventId}:` });
    };
    switch (event.type) {
      case "TaskStarted": {
        const { state } = task();
        push({ kind: "run_started", taskId: state.id, attempt: state.attempt, block: { title: `#${state.id} ${state.title}`, lines: [runStartedLine(state)] } }, state.attempt);
        break;
      }
      case "TaskResultReported":
      case "VerdictRecorded":
      case "TaskAutoApproved": {
        const { state } = task();
        const card = await namedCardOf(ctx, state, db);
        if (!card) break;
        push({ kind: event.type === "TaskResultReported" ? "review_card" : "card_update", card }, card.attempt);
        if (event.type === "TaskResultReported" && state.runs.at(-1)?.startedAt) push(runEnded(state, event.meta.at), card.attempt);
        if (event.type === "VerdictRecorded") heldBy(state);
        break;
      }
      case "TierChanged": {
        const d = event.data as TierChangedData;
        const by = personMark((await peopleOf(db, [event.meta.actor])).get(event.meta.actor)!);
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
        const { state } = task();
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
        heldBy(state);
        break;
      }
      case "TaskCancelled": {
        const { state } = task();
        if (state.runs.at(-1)?.startedAt) push(runEnded(state, event.meta.at), state.attempt);
        heldBy(state);
        break;
      }
      case "TaskRunStopped": {
        const d = event.data as RunStopped;
        const { state } = task();
        push({ kind: "stopped", block: { title: `#${state.id} ${state.title}: its run stopped`, lines: stoppedLines(d) } }, d.attempt);
        break;
      }
      default:
        break;
    }
  }
  return { pending: out, held };
}

/** The edit of a run's start message once it ended: how, and after how long. */
function runEnded(state: TaskState, at: string): Notification {
  return { kind: "run_ended", block: { title: runEndedTitle(state, at), lines: [runStartedLine(state)] } satisfies TextBlock };
}

/**
 * The outbox rows of a batch of events, one per notification and platform in its words, as statements
 * of that batch.
 */
export async function outboxStatements(ctx: AppContext, db: Executor, appending: Appending, platforms: Platform[]): Promise<InStatement[]> {
  const at = ctx.clock().toISOString();
  const statements: InStatement[] = [];
  for (const platform of platforms) {
    const { pending, held } = await notificationsFor(ctx, db, appending, hintsFor(platform));
    for (const p of pending) {
      statements.push({
        sql: `INSERT OR IGNORE INTO outbox (platform, kind, payload, dedupe_key, task_id, attempt, created_at, next_attempt_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [platform, p.notification.kind, JSON.stringify(p.notification), `${platform}:${p.key}`, p.taskId, p.attempt, at, at],
      });
    }
    for (const h of held) statements.push(heldStatement(platform, h, at, hintsFor(platform)));
  }
  return statements;
}

/** Stands for a dependent's id in the alert's words, so the words are written once (hold-words.ts) and the id filled in by SQL. */
const DEPENDENT = 9_007_199_254_740_991;

/**
 * The `held` notification of every queued task that `h.blocker` blocks, by INSERT … SELECT after the
 * batch's projection writes: the same JSON as `{ kind: "held", block: { title, lines } }`.
 */
function heldStatement(platform: Platform, h: HeldDependents, at: string, hints: Hints): InStatement {
  // The alert's text around the dependent's id, as SQL: 'its blocker … (/cancel ' || t.id || ') or …'.
  const parts = blockerEndedAlert(DEPENDENT, { id: h.blocker.id, status: h.blocker.status }, hints).split(String(DEPENDENT));
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
