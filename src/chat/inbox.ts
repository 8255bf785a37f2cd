import { AsyncLocalStorage } from "node:async_hooks";
import type { AppContext } from "../app/context.ts";
import { CoalescedRuns } from "../shared/coalesced-runs.ts";
import { toCosError } from "../shared/errors.ts";
import type { Platform } from "./types.ts";

const BATCH = 100;

/** The update being handled, as seen from inside its async work (the store's append hook reads it). */
const handling = new AsyncLocalStorage<{ platform: Platform; key: string; appended: boolean }>();
const hooked = new WeakSet<object>();

/**
 * Marks the update under way handled in the transaction that appends its first events, so that an
 * update whose effects were committed is never handled again, whenever the process dies.
 */
function markHandledOnAppend(ctx: AppContext): void {
  if (hooked.has(ctx.store)) return;
  hooked.add(ctx.store);
  ctx.store.onAppend(() => {
    const current = handling.getStore();
    if (!current) return [];
    // Set before commit: the handler checks the mark afterwards in case this batch was refused.
    current.appended = true;
    return [
      {
        sql: "UPDATE chat_updates SET handled_at = ? WHERE platform = ? AND update_id = ? AND handled_at IS NULL",
        args: [ctx.clock().toISOString(), current.platform, current.key],
      },
    ];
  });
}

export interface InboxItem<T> {
  /** What a retry of the same update repeats: Telegram's update_id, Slack's event or trigger id. */
  key: string;
  payload: T;
}

/**
 * A chat platform's inbox (the chat_updates table). An update is stored once by its key (a webhook
 * retry, a re-polled update or a replay after a restart finds its row and does nothing),
 * acknowledged, then handled in order by one loop per process and marked handled. Rows a crash left
 * unhandled are handled when the inbox starts again. An update is marked handled in the same
 * transaction as the first events it causes: a crash after that loses at most its reply, and a crash
 * before it leaves nothing behind, so handling it again is safe.
 *
 * Stores are grouped: updates that arrive while a write is under way go into the next transaction
 * together, so a burst costs a few commits rather than one per update.
 */
export class ChatInbox<T> {
  private pending: { items: InboxItem<T>[]; done: (error: unknown, stored: number) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private readonly drains = new CoalescedRuns(() => this.drain(), () => this.stopped);
  private started = false;
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly platform: Platform,
    private readonly handle: (payload: T) => Promise<void>,
    private readonly log: (line: string) => void,
    /** Told after each update whether its handling appended events (and so may have written notifications). */
    private readonly afterHandle: (appended: boolean) => void = () => {},
    /** Keys that are numbers (Telegram's update_id) are handled in numeric order, others in arrival order. */
    private readonly order: "numeric" | "arrival" = "arrival",
  ) {
    markHandledOnAppend(ctx);
  }

  /** Stores the updates (once each) and resolves, with how many were new, when they are committed. */
  receive(items: InboxItem<T>[]): Promise<number> {
    if (!items.length) return Promise.resolve(0);
    const stored = new Promise<number>((resolve, reject) => {
      this.pending.push({ items, done: (error, count) => (error ? reject(error) : resolve(count)) });
    });
    this.flush();
    return stored;
  }

  private flush(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      while (this.pending.length) {
        const batch = this.pending.splice(0);
        try {
          const at = this.ctx.clock().toISOString();
          // One batch for every update that arrived meanwhile: one commit, one request to a remote store.
          const statements = batch.flatMap((b, owner) => {
            const chunks = [];
            for (let i = 0; i < b.items.length; i += 200) {
              const chunk = b.items.slice(i, i + 200);
              chunks.push({
                owner,
                sql: `INSERT OR IGNORE INTO chat_updates (platform, update_id, payload, received_at) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(",")}`,
                args: chunk.flatMap((u) => [this.platform, u.key, JSON.stringify(u.payload), at]),
              });
            }
            return chunks;
          });
          const results = await this.ctx.db.batch(statements.map(({ sql, args }) => ({ sql, args })));
          const counts = batch.map(() => 0);
          statements.forEach((s, i) => (counts[s.owner]! += results[i]!.rowsAffected));
          batch.forEach((b, i) => b.done(null, counts[i]!));
        } catch (error) {
          for (const b of batch) b.done(error, 0);
        }
      }
    })().finally(() => {
      this.flushing = null;
      void this.kick();
    });
  }

  /** Starts handling, beginning with the rows a crash left unhandled. Until then updates are only stored. */
  start(): Promise<void> {
    this.started = true;
    return this.kick();
  }

  /** Handles every unhandled row now, or right after the pass under way. */
  kick(): Promise<void> {
    if (this.stopped || !this.started) return Promise.resolve();
    return this.drains.request();
  }

  private async drain(): Promise<void> {
    const order = this.order === "numeric" ? "CAST(update_id AS INTEGER)" : "rowid";
    while (!this.stopped) {
      const rows = await this.ctx.db.query<{ update_id: string; payload: string }>(
        `SELECT update_id, payload FROM chat_updates WHERE platform = ? AND handled_at IS NULL ORDER BY ${order} LIMIT ${BATCH}`,
        [this.platform],
      );
      if (!rows.length) return;
      for (const row of rows) {
        // Acknowledging comes first: let the requests that arrived meanwhile be read and stored
        // (one grouped commit) before the next update is handled; at least one update is handled
        // per commit, so a steady stream of updates cannot starve the handling.
        await new Promise((done) => setImmediate(done));
        if (this.flushing) await this.flushing;
        if (this.stopped) return;
        const scope = { platform: this.platform, key: row.update_id, appended: false };
        try {
          await handling.run(scope, () => this.handle(JSON.parse(row.payload) as T));
        } catch (error) {
          // Handled means "tried": a failing update must not block every later one.
          this.log(`${this.platform}: update ${row.update_id} failed: ${toCosError(error).message}`);
        }
        // An update that appended was marked in that transaction (unless it rolled back); one that only read is marked now.
        const marked =
          scope.appended &&
          (
            await this.ctx.db.query("SELECT 1 FROM chat_updates WHERE platform = ? AND update_id = ? AND handled_at IS NOT NULL", [
              this.platform,
              row.update_id,
            ])
          ).length > 0;
        if (!marked) {
          await this.ctx.db.batch([
            {
              sql: "UPDATE chat_updates SET handled_at = ? WHERE platform = ? AND update_id = ? AND handled_at IS NULL",
              args: [this.ctx.clock().toISOString(), this.platform, row.update_id],
            },
          ]);
        }
        this.afterHandle(scope.appended);
      }
    }
  }

  /** Waits for stores and the handling under way; nothing new is handled after. */
  async stop(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.stopped = true;
    await this.drains.underWay;
  }

  /** Resolves once every stored update has been handled (for tests and the bench). */
  async idle(): Promise<void> {
    for (;;) {
      while (this.flushing) await this.flushing;
      await this.kick();
      const left = await this.ctx.db.query("SELECT 1 FROM chat_updates WHERE platform = ? AND handled_at IS NULL LIMIT 1", [this.platform]);
      if (!left.length || this.stopped || !this.started) return;
    }
  }
}

/**
 * The base of a platform's inbox: ChatInbox with the platform and its key order fixed, so that each
 * platform's inbox is constructed the same way and adds only how it receives.
 */
export function platformInbox<T>(platform: Platform, order: "numeric" | "arrival") {
  return class extends ChatInbox<T> {
    constructor(
      ctx: AppContext,
      handle: (payload: T) => Promise<void>,
      log: (line: string) => void,
      afterHandle: (appended: boolean) => void = () => {},
    ) {
      super(ctx, platform, handle, log, afterHandle, order);
    }
  };
}
