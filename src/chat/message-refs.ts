import type { AppContext } from "../app/context.ts";
import type { Platform } from "../config/platforms.ts";
import type { Tx } from "../store/db.ts";

// Where a platform's messages stand, so that a later answer finds the task attempt it belongs to:
// the review cards posted for an attempt (chat_messages kind card: the outbox's and the copies `/review`
// sent; a verdict edits them all, a reply to one is a comment), the message saying an attempt started
// (kind run; edited when it ends), and the question asking for an attempt's send-back notes
// (chat_prompts). A ref is the platform's own address of a message, e.g. Telegram's "chatId:messageId"
// or Slack's "channel:ts".

export interface AttemptRef {
  taskId: number;
  attempt: number;
}

/** A card (edited by the verdict) or a run's start message (edited when the run ends). */
export type MessageKind = "card" | "run";

const attemptOf = (rows: { task_id: number; attempt: number }[]): AttemptRef | null =>
  rows[0] ? { taskId: Number(rows[0].task_id), attempt: Number(rows[0].attempt) } : null;

/** Remembers where an attempt's card (or run message) was posted; the outbox does it in the transaction that marks it delivered. */
export async function saveMessageRef(tx: Pick<Tx, "execute">, platform: Platform, taskId: number, attempt: number, ref: string, kind: MessageKind = "card"): Promise<void> {
  await tx.execute({
    sql: "INSERT OR REPLACE INTO chat_messages (platform, ref, task_id, attempt, kind) VALUES (?, ?, ?, ?, ?)",
    args: [platform, ref, taskId, attempt, kind],
  });
}

/** Where an attempt's cards (or its run message) were posted, oldest first, to edit them. */
export async function messageRefsOf(ctx: AppContext, platform: Platform, taskId: number, attempt: number, kind: MessageKind = "card"): Promise<string[]> {
  const rows = await ctx.db.query<{ ref: string }>(
    "SELECT ref FROM chat_messages WHERE platform = ? AND task_id = ? AND attempt = ? AND kind = ? ORDER BY rowid",
    [platform, taskId, attempt, kind],
  );
  return rows.map((r) => String(r.ref));
}

/** The attempt whose card is the message at `ref`, if it is one. */
export async function cardAt(ctx: AppContext, platform: Platform, ref: string): Promise<AttemptRef | null> {
  return attemptOf(await ctx.db.query("SELECT task_id, attempt FROM chat_messages WHERE platform = ? AND ref = ? AND kind = 'card'", [platform, ref]));
}

/** Remembers that the message at `ref` asks for an attempt's send-back notes. */
export async function saveNotesQuestion(ctx: AppContext, platform: Platform, ref: string, asked: AttemptRef): Promise<void> {
  await ctx.db.write((tx) =>
    tx.execute({
      sql: "INSERT OR REPLACE INTO chat_prompts (platform, ref, task_id, attempt, created_at) VALUES (?, ?, ?, ?, ?)",
      args: [platform, ref, asked.taskId, asked.attempt, ctx.clock().toISOString()],
    }),
  );
}

/** The attempt whose notes the message at `ref` asks for, if it is such a question. */
export async function notesQuestionAt(ctx: AppContext, platform: Platform, ref: string): Promise<AttemptRef | null> {
  return attemptOf(await ctx.db.query("SELECT task_id, attempt FROM chat_prompts WHERE platform = ? AND ref = ?", [platform, ref]));
}
