import type { AppContext } from "../app/context.ts";
import type { Notification, Platform } from "../chat/types.ts";
import { toCosError } from "../shared/errors.ts";
import type { InStatement } from "@libsql/client";
import { outboxStatements } from "./notifications.ts";
import { messageRefsOf, messageRefStatement, type MessageKind } from "../chat/message-refs.ts";
import { notifiedPlatforms } from "../config/platforms.ts";
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
 * Writes outbox rows for every enabled platform in the batch that appends the events, each in that
 * platform's words (the commands it points to are typed as there).
 */
export function installOutbox(ctx: AppContext): void {
  const platforms = notifiedPlatforms(ctx.env);
  if (!platforms.length) return;
  ctx.store.onAppend((appending) => outboxStatements(ctx, ctx.db, appending, platforms));
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
  await ctx.db.batch([
    {
      sql: `INSERT OR IGNORE INTO outbox (platform, kind, payload, dedupe_key, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)`,
      args: [platform, notification.kind, JSON.stringify(notification), `${platform}:${key}`, at, at],
    },
  ]);
  ctx.store.noticeChange();
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
 * Delivers due rows, oldest first per platform. A row is claimed for a minute by one statement before
 * it is sent, so two workers never send it both, and marked delivered right after; one left claimed
 * by a killed process is sent again once its claim runs out.
 *
 * Quiet when there is nothing to send: the store is asked again only after an append or a change of
 * the log (`store.onChange`), or when the earliest row waiting for a retry (or a lapsed claim) is due.
 */
export class OutboxWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;
  /** Something may be due: set by changes to the store, cleared by a claim that found nothing. */
  private dirty = true;
  /** When the earliest row still waiting becomes due (ms since the epoch), or null for none. */
  private nextDueAt: number | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly ctx: AppContext,
    private readonly transports: Transport[],
    private readonly log: (line: string) => void = () => {},
  ) {}

  start(intervalMs = 500): void {
    this.unsubscribe = this.ctx.store.onChange(() => {
      this.dirty = true;
      void this.deliverDue();
    });
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(async () => {
        if (this.dirty || (this.nextDueAt !== null && this.ctx.clock().getTime() >= this.nextDueAt)) await this.deliverDue();
        loop();
      }, intervalMs);
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  deliverDue(): Promise<number> {
    this.running ??= this.deliverBatch()
      .catch((error) => {
        this.dirty = true;
        this.log(`outbox: ${toCosError(error).message}`);
        return 0;
      })
      .finally(() => (this.running = null));
    return this.running;
  }

  private async deliverBatch(): Promise<number> {
    this.dirty = false;
    let delivered = 0;
    let nextDue: number | null = null;
    for (const transport of this.transports) {
      const { rows, next } = await this.claim(transport.platform);
      if (next !== null) nextDue = nextDue === null ? next : Math.min(nextDue, next);
      if (rows.length) this.dirty = true;
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
    this.nextDueAt = nextDue;
    return delivered;
  }

  /**
   * Claims the due rows that come before any row still waiting for its retry (or claimed by another
   * worker), so that a platform's notifications go out in the order they were written; and reads
   * when the earliest row left waiting is due.
   */
  private async claim(platform: Platform): Promise<{ rows: Row[]; next: number | null }> {
    const now = this.ctx.clock().toISOString();
    const until = new Date(this.ctx.clock().getTime() + CLAIM_MS).toISOString();
    const [claimed, waiting] = await this.ctx.db.batch([
      {
        sql: `UPDATE outbox SET claimed_until = ?, attempts = attempts + 1
              WHERE id IN (
                SELECT id FROM outbox
                WHERE platform = ? AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
                  AND (claimed_until IS NULL OR claimed_until <= ?)
                  AND id < COALESCE((SELECT min(id) FROM outbox WHERE platform = ? AND delivered_at IS NULL AND failed_at IS NULL
                                       AND (next_attempt_at > ? OR claimed_until > ?)), 9223372036854775807)
                ORDER BY id LIMIT 20)
              RETURNING id, platform, payload, task_id, attempt, attempts - 1 AS attempts, created_at`,
        args: [until, platform, now, now, platform, now, now],
      },
      {
        sql: `SELECT MIN(MAX(next_attempt_at, COALESCE(claimed_until, ''))) AS next FROM outbox
              WHERE platform = ? AND delivered_at IS NULL AND failed_at IS NULL`,
        args: [platform],
      },
    ]);
    const rows = (claimed!.rows as unknown as Row[]).slice().sort((a, b) => Number(a.id) - Number(b.id));
    const next = waiting!.rows[0]?.next;
    return { rows, next: typeof next === "string" && next ? Date.parse(next) : null };
  }

  private async release(rows: Row[]): Promise<void> {
    if (!rows.length) return;
    await this.ctx.db.batch(
      rows.map((row) => ({ sql: "UPDATE outbox SET claimed_until = NULL, attempts = attempts - 1 WHERE id = ? AND delivered_at IS NULL", args: [row.id] })),
    );
  }

  private async deliverOne(transport: Transport, row: Row): Promise<"delivered" | "retry" | "failed"> {
    const notification = JSON.parse(row.payload) as Notification;
    const kind = editedKind(notification);
    const refs =
      kind && row.task_id !== null && row.attempt !== null ? await messageRefsOf(this.ctx, transport.platform, row.task_id, row.attempt, kind) : [];
    try {
      const result = await transport.deliver(notification, refs);
      const statements: InStatement[] = [
        { sql: "UPDATE outbox SET delivered_at = ?, claimed_until = NULL WHERE id = ?", args: [this.ctx.clock().toISOString(), row.id] },
        ...result.posted.map((p) => messageRefStatement(transport.platform, p.taskId, p.attempt, p.ref, p.kind)),
      ];
      await this.ctx.db.batch(statements);
      return "delivered";
    } catch (error) {
      const now = this.ctx.clock();
      const retryAfter = error instanceof DeliveryError ? error.retryAfterMs : null;
      const tooOld = Number(row.attempts) + 1 >= MIN_ATTEMPTS_BEFORE_GIVING_UP && now.getTime() - Date.parse(row.created_at) >= GIVE_UP_AFTER_MS;
      const permanent = (error instanceof DeliveryError && error.permanent) || tooOld;
      const wait = retryAfter ?? Math.min(5 * 60_000, 1000 * 2 ** Number(row.attempts));
      await this.ctx.db.batch([
        {
          sql: `UPDATE outbox SET claimed_until = NULL, last_error = ?, next_attempt_at = ?, failed_at = ? WHERE id = ?`,
          args: [toCosError(error).message.slice(0, 1000), new Date(now.getTime() + wait).toISOString(), permanent ? now.toISOString() : null, row.id],
        },
      ]);
      this.log(`outbox: ${transport.platform} #${row.id}: ${toCosError(error).message}${permanent ? " (given up)" : `; retry in ${Math.round(wait / 1000)} s`}`);
      return permanent ? "failed" : "retry";
    }
  }
}
