import type { AppContext } from "../app/context.ts";
import type { Notification, Platform } from "../chat/types.ts";
import { toCosError } from "../shared/errors.ts";
import { notificationsFor } from "./notifications.ts";
import { messageRefsOf, saveMessageRef, type MessageKind } from "../chat/message-refs.ts";
import { notifiedPlatforms } from "../config/platforms.ts";
import { hintsFor } from "../shared/hints.ts";
import { perOwner } from "../shared/registry.ts";

/** A message a delivery posted that a later notification edits: a card, or the message saying a run started. */
export interface Posted {
  ref: string;
  taskId: number;
  attempt: number;
  kind: MessageKind;
}

/**
 * A platform's way to deliver one notification. `refs` are the messages it edits: every card posted for
 * a `card_update`'s attempt, the start message of a `run_ended`'s. It answers with what it posted that a
 * later notification may edit (cards, a run's start message).
 */
export interface Transport {
  platform: Platform;
  deliver(notification: Notification, refs: string[]): Promise<{ posted: Posted[] }>;
}

/**
 * A notification that edits (a card update, a run's end) applied to the messages it edits: true when
 * that is all there is to do (at least one was edited, or a run's end had no start message to edit,
 * which says nothing its card or alert does not). False: post it afresh (every copy of a card is gone).
 */
export async function editedInPlace(notification: Notification, refs: string[], edit: (ref: string) => Promise<boolean>): Promise<boolean> {
  if (notification.kind !== "card_update" && notification.kind !== "run_ended") return false;
  let edited = 0;
  for (const ref of refs) if (await edit(ref)) edited++;
  return edited > 0 || notification.kind === "run_ended";
}

/** Which messages a notification edits, if any. */
function editedKind(n: Notification): MessageKind | null {
  return n.kind === "card_update" ? "card" : n.kind === "run_ended" ? "run" : null;
}

/** A failed delivery: `retryAfterMs` when the platform said how long to wait (429), `permanent` when retrying is useless. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null = null,
    readonly permanent = false,
  ) {
    super(message);
  }
}

/** A transient failure is retried until the row has been tried this often and is this old: an outage of hours loses nothing. */
const MIN_ATTEMPTS_BEFORE_GIVING_UP = 12;
const GIVE_UP_AFTER_MS = 24 * 3600_000;
const CLAIM_MS = 60_000;

/**
 * Writes outbox rows for every enabled platform in the transaction that appends the events, each in
 * that platform's words (the commands it points to are typed as there).
 */
export function installOutbox(ctx: AppContext): void {
  const platforms = notifiedPlatforms(ctx.env);
  if (!platforms.length) return;
  ctx.store.onAppend(async (tx, events) => {
    const at = ctx.clock().toISOString();
    for (const platform of platforms) {
      const pending = await notificationsFor(ctx, tx, events, hintsFor(platform));
      for (const p of pending) {
        await tx.execute({
          sql: `INSERT OR IGNORE INTO outbox (platform, kind, payload, dedupe_key, task_id, attempt, created_at, next_attempt_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          args: [platform, p.notification.kind, JSON.stringify(p.notification), `${platform}:${p.key}`, p.taskId, p.attempt, at, at],
        });
      }
    }
  });
}

const workers = perOwner<AppContext, OutboxWorker>();

/** Lets `deliverNow` reach a platform's worker in this process; answers how to take it back. */
export function registerWorker(ctx: AppContext, worker: OutboxWorker): () => void {
  return workers.add(ctx, worker);
}

/**
 * Delivers what is due now through every worker this process runs (a scheduler's tick must not wait
 * for the next round of the workers' timers); answers how many were delivered.
 */
export async function deliverNow(ctx: AppContext): Promise<number> {
  let delivered = 0;
  for (const worker of workers.of(ctx)) delivered += await worker.deliverDue();
  return delivered;
}

/** Enqueues a notification that no event causes (the scheduled digest). */
export async function enqueue(ctx: AppContext, platform: Platform, notification: Notification, key: string): Promise<void> {
  const at = ctx.clock().toISOString();
  await ctx.store.transaction(async (tx) => {
    await tx.execute({
      sql: `INSERT OR IGNORE INTO outbox (platform, kind, payload, dedupe_key, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)`,
      args: [platform, notification.kind, JSON.stringify(notification), `${platform}:${key}`, at, at],
    });
  });
}

interface Row {
  id: number;
  platform: Platform;
  payload: string;
  task_id: number | null;
  attempt: number | null;
  attempts: number;
  created_at: string;
}

/**
 * Delivers due rows, oldest first per platform. A row is claimed for a minute in a write
 * transaction before it is sent, so two workers never send it both, and marked delivered right
 * after; one left claimed by a killed process is sent again once its claim runs out.
 */
export class OutboxWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly transports: Transport[],
    private readonly log: (line: string) => void = () => {},
  ) {}

  start(intervalMs = 500): void {
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(async () => {
        await this.deliverDue();
        loop();
      }, intervalMs);
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  deliverDue(): Promise<number> {
    this.running ??= this.deliverBatch().finally(() => (this.running = null));
    return this.running;
  }

  private async deliverBatch(): Promise<number> {
    let delivered = 0;
    for (const transport of this.transports) {
      const rows = await this.claim(transport.platform);
      for (const [i, row] of rows.entries()) {
        const outcome = await this.deliverOne(transport, row);
        if (outcome === "delivered") delivered++;
        if (outcome === "retry") {
          // Later rows of a platform wait while an earlier one is being retried: cards keep their order
          // (a verdict's card update never overtakes the card). They are released, not left claimed.
          await this.release(rows.slice(i + 1));
          break;
        }
      }
    }
    return delivered;
  }

  /**
   * Claims the due rows that come before any row still waiting for its retry (or claimed by another
   * worker), so that a platform's notifications go out in the order they were written.
   */
  private claim(platform: Platform): Promise<Row[]> {
    const now = this.ctx.clock();
    const until = new Date(now.getTime() + CLAIM_MS).toISOString();
    return this.ctx.store.transaction(async (tx) => {
      const due = await tx.execute({
        sql: `SELECT id, platform, payload, task_id, attempt, attempts, created_at FROM outbox
              WHERE platform = ? AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
                AND (claimed_until IS NULL OR claimed_until <= ?)
                AND id < COALESCE((SELECT min(id) FROM outbox WHERE platform = ? AND delivered_at IS NULL AND failed_at IS NULL
                                     AND (next_attempt_at > ? OR claimed_until > ?)), 9223372036854775807)
              ORDER BY id LIMIT 20`,
        args: [platform, now.toISOString(), now.toISOString(), platform, now.toISOString(), now.toISOString()],
      });
      for (const row of due.rows) {
        await tx.execute({ sql: "UPDATE outbox SET claimed_until = ?, attempts = attempts + 1 WHERE id = ?", args: [until, Number(row.id)] });
      }
      return due.rows as unknown as Row[];
    });
  }

  private async release(rows: Row[]): Promise<void> {
    if (!rows.length) return;
    await this.ctx.store.transaction(async (tx) => {
      for (const row of rows) {
        await tx.execute({ sql: "UPDATE outbox SET claimed_until = NULL, attempts = attempts - 1 WHERE id = ? AND delivered_at IS NULL", args: [row.id] });
      }
    });
  }

  private async deliverOne(transport: Transport, row: Row): Promise<"delivered" | "retry" | "failed"> {
    const notification = JSON.parse(row.payload) as Notification;
    const kind = editedKind(notification);
    const refs =
      kind && row.task_id !== null && row.attempt !== null ? await messageRefsOf(this.ctx, transport.platform, row.task_id, row.attempt, kind) : [];
    try {
      const result = await transport.deliver(notification, refs);
      await this.ctx.store.transaction(async (tx) => {
        await tx.execute({ sql: "UPDATE outbox SET delivered_at = ?, claimed_until = NULL WHERE id = ?", args: [this.ctx.clock().toISOString(), row.id] });
        for (const p of result.posted) await saveMessageRef(tx, transport.platform, p.taskId, p.attempt, p.ref, p.kind);
      });
      return "delivered";
    } catch (error) {
      const now = this.ctx.clock();
      const retryAfter = error instanceof DeliveryError ? error.retryAfterMs : null;
      const tooOld = Number(row.attempts) + 1 >= MIN_ATTEMPTS_BEFORE_GIVING_UP && now.getTime() - Date.parse(row.created_at) >= GIVE_UP_AFTER_MS;
      const permanent = (error instanceof DeliveryError && error.permanent) || tooOld;
      const wait = retryAfter ?? Math.min(5 * 60_000, 1000 * 2 ** Number(row.attempts));
      await this.ctx.store.transaction(async (tx) => {
        await tx.execute({
          sql: `UPDATE outbox SET claimed_until = NULL, last_error = ?, next_attempt_at = ?, failed_at = ? WHERE id = ?`,
          args: [toCosError(error).message.slice(0, 1000), new Date(now.getTime() + wait).toISOString(), permanent ? now.toISOString() : null, row.id],
        });
      });
      this.log(`outbox: ${transport.platform} #${row.id}: ${toCosError(error).message}${permanent ? " (given up)" : `; retry in ${Math.round(wait / 1000)} s`}`);
      return permanent ? "failed" : "retry";
    }
  }
}
