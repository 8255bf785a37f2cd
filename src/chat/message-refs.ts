import type { AppContext } from "../app/context.ts";
import type { Platform } from "../config/platforms.ts";
import type { InStatement } from "@libsql/client";

// Where a platform's messages stand, so that a later answer finds the task attempt it belongs to:
// the review card posted for an attempt (chat_messages; a verdict edits it, a thread reply to it is
// notes), and the question asking for an attempt's send-back notes (chat_prompts). A ref is the
// platform's own address of a message, e.g. Telegram's "chatId:messageId" or Slack's "channel:ts".

export interface AttemptRef {
  taskId: number;
  attempt: number;
}

const attemptOf = (rows: { task_id: number; attempt: number }[]): AttemptRef | null =>
  rows[0] ? { taskId: Number(rows[0].task_id), attempt: Number(rows[0].attempt) } : null;

/** Remembers where an attempt's card was posted: a statement of the batch that marks it delivered. */
export function cardRefStatement(platform: Platform, taskId: number, attempt: number, ref: string): InStatement {
  return {
    sql: "INSERT OR REPLACE INTO chat_messages (platform, task_id, attempt, ref) VALUES (?, ?, ?, ?)",
    args: [platform, taskId, attempt, ref],
  };
}

/** Where an attempt's card was posted, to edit it; null when it never was. */
export async function cardRefOf(ctx: AppContext, platform: Platform, taskId: number, attempt: number): Promise<string | null> {
  const rows = await ctx.db.query<{ ref: string }>("SELECT ref FROM chat_messages WHERE platform = ? AND task_id = ? AND attempt = ?", [
    platform,
    taskId,
    attempt,
  ]);
  return rows[0]?.ref ?? null;
}

/** The attempt whose card is the message at `ref`, if it is a card. */
export async function cardAt(ctx: AppContext, platform: Platform, ref: string): Promise<AttemptRef | null> {
  return attemptOf(await ctx.db.query("SELECT task_id, attempt FROM chat_messages WHERE platform = ? AND ref = ?", [platform, ref]));
}

/** Remembers that the message at `ref` asks for an attempt's send-back notes. */
export async function saveNotesQuestion(ctx: AppContext, platform: Platform, ref: string, asked: AttemptRef): Promise<void> {
  await ctx.db.batch([
    {
      sql: "INSERT OR REPLACE INTO chat_prompts (platform, ref, task_id, attempt, created_at) VALUES (?, ?, ?, ?, ?)",
      args: [platform, ref, asked.taskId, asked.attempt, ctx.clock().toISOString()],
    },
  ]);
}

/** The attempt whose notes the message at `ref` asks for, if it is such a question. */
export async function notesQuestionAt(ctx: AppContext, platform: Platform, ref: string): Promise<AttemptRef | null> {
  return attemptOf(await ctx.db.query("SELECT task_id, attempt FROM chat_prompts WHERE platform = ? AND ref = ?", [platform, ref]));
}
