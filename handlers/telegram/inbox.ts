import { AsyncLocalStorage } from "node:async_hooks";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Hono } from "hono";
import type { Update } from "grammy/types";
import type { AppContext } from "../../src/app/context.ts";
import { toCosError } from "../../src/shared/errors.ts";

const BATCH = 100;

/** The update being handled, as seen from inside its async work (the store's append hook reads it). */
const handling = new AsyncLocalStorage<{ updateId: string; appended: boolean }>();
const hooked = new WeakSet<object>();

/**
 * Marks the update under way handled in the transaction that appends its first events, so that an
 * update whose effects were committed is never handled again, whenever the process dies.
 */
function markHandledOnAppend(ctx: AppContext): void {
  if (hooked.has(ctx.store)) return;
  hooked.add(ctx.store);
  ctx.store.onAppend(async (tx) => {
    const current = handling.getStore();
    if (!current) return;
    // Set before commit: the handler checks the mark afterwards in case this transaction rolled back.
    current.appended = true;
    await tx.execute({
      sql: "UPDATE chat_updates SET handled_at = ? WHERE platform = 'telegram' AND update_id = ? AND handled_at IS NULL",
      args: [ctx.clock().toISOString(), current.updateId],
    });
  });
}

/**
 * The Telegram inbox (the chat_updates table). An update is stored once by its update_id (a webhook
 * retry, a re-polled update or a replay after a restart finds its row and does nothing), acknowledged,
 * then handled in update_id order by one loop per process and marked handled. Rows a crash left
 * unhandled are handled when the inbox starts again. An update is marked handled in the same
 * transaction as the first events it causes: a crash after that loses at most its reply, and a
 * crash before it leaves nothing behind, so handling it again is safe.
 *
 * Stores are grouped: updates that arrive while a write is under way go into the next transaction
 * together, so a burst costs a few commits rather than one per update.
 */
export class TelegramInbox {
  private pending: { updates: Update[]; done: (error?: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private draining: Promise<void> | null = null;
  private again = false;
  private started = false;
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly handle: (update: Update) => Promise<void>,
    private readonly log: (line: string) => void,
    /** Told after each update whether its handling appended events (and so may have written notifications). */
    private readonly afterHandle: (appended: boolean) => void = () => {},
  ) {
    markHandledOnAppend(ctx);
  }

  /** Stores the updates (once each) and resolves when they are committed; handling follows. */
  receive(updates: Update[]): Promise<void> {
    if (!updates.length) return Promise.resolve();
    const stored = new Promise<void>((resolve, reject) => {
      this.pending.push({ updates, done: (error) => (error ? reject(error) : resolve()) });
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
          await this.ctx.db.write(async (tx) => {
            const rows = batch.flatMap((b) => b.updates);
            for (let i = 0; i < rows.length; i += 200) {
              const chunk = rows.slice(i, i + 200);
              await tx.execute({
                sql: `INSERT OR IGNORE INTO chat_updates (platform, update_id, payload, received_at) VALUES ${chunk.map(() => "('telegram', ?, ?, ?)").join(",")}`,
                args: chunk.flatMap((u) => [String(u.update_id), JSON.stringify(u), at]),
              });
            }
          });
          for (const b of batch) b.done();
        } catch (error) {
          for (const b of batch) b.done(error);
        }
      }
    })().finally(() => {
      this.flushing = null;
      this.kick();
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
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      do {
        this.again = false;
        await this.drain();
      } while (this.again && !this.stopped);
    })().finally(() => (this.draining = null));
    return this.draining;
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const rows = await this.ctx.db.query<{ update_id: string; payload: string }>(
        `SELECT update_id, payload FROM chat_updates WHERE platform = 'telegram' AND handled_at IS NULL
         ORDER BY CAST(update_id AS INTEGER) LIMIT ${BATCH}`,
      );
      if (!rows.length) return;
      for (const row of rows) {
        // Acknowledging comes first: let the requests that arrived meanwhile be read and stored
        // (one grouped commit) before the next update is handled; at least one update is handled
        // per commit, so a steady stream of updates cannot starve the handling.
        await new Promise((done) => setImmediate(done));
        if (this.flushing) await this.flushing;
        if (this.stopped) return;
        const scope = { updateId: row.update_id, appended: false };
        try {
          await handling.run(scope, () => this.handle(JSON.parse(row.payload) as Update));
        } catch (error) {
          // Handled means "tried": a failing update must not block every later one.
          this.log(`telegram: update ${row.update_id} failed: ${toCosError(error).message}`);
        }
        // An update that appended was marked in that transaction (unless it rolled back); one that only read is marked now.
        const marked =
          scope.appended &&
          (await this.ctx.db.query("SELECT 1 FROM chat_updates WHERE platform = 'telegram' AND update_id = ? AND handled_at IS NOT NULL", [row.update_id])).length > 0;
        if (!marked) {
          await this.ctx.db.write((tx) =>
            tx.execute({
              sql: "UPDATE chat_updates SET handled_at = ? WHERE platform = 'telegram' AND update_id = ? AND handled_at IS NULL",
              args: [this.ctx.clock().toISOString(), row.update_id],
            }),
          );
        }
        this.afterHandle(scope.appended);
      }
    }
  }

  /** Waits for stores and the handling under way; nothing new is handled after. */
  async stop(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.stopped = true;
    await this.draining;
  }

  /** Resolves once every stored update has been handled (for tests and the bench). */
  async idle(): Promise<void> {
    for (;;) {
      while (this.flushing) await this.flushing;
      await this.kick();
      const left = await this.ctx.db.query("SELECT 1 FROM chat_updates WHERE platform = 'telegram' AND handled_at IS NULL LIMIT 1");
      if (!left.length || this.stopped || !this.started) return;
    }
  }
}

/** Compares secrets in constant time, whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

const MAX_BODY = 1_000_000;

/**
 * `POST /telegram/webhook` (DESIGN §10): 401 unless `X-Telegram-Bot-Api-Secret-Token` matches, and
 * then nothing is read or stored; 200 as soon as the update is committed to the inbox.
 */
export function mountWebhook(app: Hono, secret: string | undefined, inbox: TelegramInbox): void {
  app.post("/telegram/webhook", async (c: Context) => {
    const given = c.req.header("x-telegram-bot-api-secret-token") ?? "";
    if (!secret || !given || !sameSecret(given, secret)) {
      return c.json({ error: { code: "unauthorized", message: "missing or wrong X-Telegram-Bot-Api-Secret-Token" } }, 401);
    }
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_BODY) return c.json({ error: { code: "validation", message: "update too large" } }, 413);
    let update: unknown;
    try {
      update = await c.req.json();
    } catch {
      return c.json({ error: { code: "validation", message: "the body must be a JSON update" } }, 400);
    }
    const id = (update as { update_id?: unknown } | null)?.update_id;
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
      return c.json({ error: { code: "validation", message: "an update needs a whole-number update_id" } }, 400);
    }
    await inbox.receive([update as Update]);
    return c.json({ ok: true });
  });
}
