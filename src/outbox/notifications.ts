import type { AppContext } from "../app/context.ts";
import { loadTaskIn } from "../app/tasks.ts";
import { cardOf } from "../chat/cards.ts";
import type { Notification } from "../chat/types.ts";
import type { TierChangedData } from "../domain/trust/tier-pins.ts";
import type { Tx } from "../store/db.ts";
import type { StoredEvent } from "../store/event-store.ts";

export interface Pending {
  notification: Notification;
  /** Unique per event and notification: a retried append cannot enqueue twice. */
  key: string;
  taskId: number | null;
  attempt: number | null;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

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
        if (event.type === "VerdictRecorded" && (event.data as { verdict: string }).verdict === "discarded") {
          out.push(...(await heldDependents(tx, taskId!, "discarded", key)));
        }
        break;
      }
      case "TierChanged": {
        const d = event.data as TierChangedData;
        const why = d.reason === "trust" ? `trust (approval: ${pct(d.approvalRate)}, sendBack: ${pct(d.sendBackRate)}, n=${d.n})` : "a pin";
        out.push({
          notification: { kind: "trust_change", block: { title: `Tier change: ${d.agent} ${d.type}`, lines: [`${d.from} → ${d.to} by ${why}`] } },
          key: key("trust_change"),
          taskId: null,
          attempt: null,
        });
        break;
      }
      case "TaskFailed": {
        const d = event.data as { attempt: number; detail: string; final: boolean; reason: string };
        const { state } = await loadTaskIn(tx, taskId!);
        const next = d.final ? "no attempts left" : `queued again for attempt ${state.attempt}`;
        out.push({
          notification: { kind: "failure", block: { title: `#${taskId} ${state.title} failed`, lines: [`attempt ${d.attempt}: ${d.detail}; ${next}`] } },
          key: key("failure"),
          taskId,
          attempt: d.attempt,
        });
        if (d.final) out.push(...(await heldDependents(tx, taskId!, "failed", key)));
        break;
      }
      case "TaskCancelled":
        out.push(...(await heldDependents(tx, taskId!, "cancelled", key)));
        break;
      default:
        break;
    }
  }
  return out;
}

async function heldDependents(tx: Tx, blocker: number, ending: string, key: (kind: string) => string): Promise<Pending[]> {
  const rows = await tx.execute({
    sql: `SELECT t.id, t.title FROM task_blockers b JOIN tasks t ON t.id = b.task_id WHERE b.blocker_id = ? AND t.status = 'queued' ORDER BY t.id`,
    args: [blocker],
  });
  return rows.rows.map((r) => ({
    notification: {
      kind: "held" as const,
      block: {
        title: `#${r.id} ${r.title} is held`,
        lines: [`its blocker #${blocker} was ${ending}: cancel it (/cancel ${r.id}) or change its blockers`],
      },
    },
    key: key(`held-${r.id}`),
    taskId: Number(r.id),
    attempt: null,
  }));
}
