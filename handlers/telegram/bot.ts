import { Bot, Composer, type Context, type Transformer } from "grammy";
import type { UserFromGetMe } from "grammy/types";
import { STALE_BUTTON, notAllowed, refusalLogLine } from "../../src/chat/chat-text.ts";
import { handleChat } from "../../src/chat/core.ts";
import { cardAt, notesQuestionAt } from "../../src/chat/message-refs.ts";
import { NameBook } from "../../src/app/people.ts";
import type { PlatformDeps } from "../../src/chat/platform-startup.ts";
import type { ChatActor, ChatInput } from "../../src/chat/types.ts";
import { parseVerdictData } from "./render.ts";
import { answerTap, respond } from "./reply.ts";
import { messageRef } from "./transport.ts";

// The Telegram adapter: an update becomes a ChatInput, handleChat decides, the ChatReply becomes
// messages. One Composer per feature, installed in one place (`installFeatures`); no rule lives here.

export type BotDeps = PlatformDeps;

export interface BotOptions {
  token: string;
  apiRoot?: string | undefined;
  /** Known bot identity; without it `bot.init()` asks getMe. */
  botInfo?: UserFromGetMe;
  sleep?: (ms: number) => Promise<void>;
}

export function createBot(deps: BotDeps, options: BotOptions): Bot {
  const bot = new Bot(options.token, {
    client: { ...(options.apiRoot ? { apiRoot: options.apiRoot.replace(/\/+$/, "") } : {}), timeoutSeconds: 60 },
    ...(options.botInfo ? { botInfo: options.botInfo } : {}),
  });
  bot.api.config.use(retryBriefly(options.sleep));
  installFeatures(bot, deps);
  // handleUpdate rethrows what a feature throws; the inbox logs it with the update's id.
  return bot;
}

/** The one place the features are installed, in the order they must see an update. */
export function installFeatures(bot: Bot, deps: BotDeps): void {
  bot.use(allowlist(deps));
  bot.use(names(deps));
  bot.use(callbacks(deps));
  bot.use(replies(deps));
  bot.use(commands(deps));
}

/** Remembers the first name each allowed person goes by, so that cards and digests name them. */
export function names(deps: BotDeps): Composer<Context> {
  const book = new NameBook(deps.ctx.db, "telegram", deps.ctx.clock);
  const composer = new Composer<Context>();
  composer.use(async (c, next) => {
    if (c.from) await book.remember(String(c.from.id), c.from.first_name);
    return next();
  });
  return composer;
}

function actorOf(userId: number): ChatActor {
  return { platform: "telegram", userId: String(userId), actor: `user:telegram:${userId}` };
}

/** Only TELEGRAM_ALLOWED_USER_IDS may act; anyone else is refused, logged, and nothing is recorded. */
export function allowlist(deps: BotDeps): Composer<Context> {
  const composer = new Composer<Context>();
  composer.use(async (c, next) => {
    const from = c.from;
    if (!from) return; // channel posts and service updates: nobody to act for
    if (deps.allowed.has(String(from.id))) return next();
    const what = c.callbackQuery ? `tapped "${c.callbackQuery.data ?? ""}"` : c.message?.text ? `sent "${c.message.text.slice(0, 80)}"` : "sent an update";
    deps.log(refusalLogLine("telegram", `${from.id}${from.username ? ` (@${from.username})` : ""}`, what));
    if (c.callbackQuery) await c.answerCallbackQuery({ text: notAllowed("telegram"), show_alert: true });
    else if (c.message && c.chat) await c.api.sendMessage(c.chat.id, notAllowed("telegram", String(from.id)));
  });
  return composer;
}

/** Card buttons: `v:<a|s|d>:<task>:<attempt>`. */
export function callbacks(deps: BotDeps): Composer<Context> {
  const composer = new Composer<Context>();
  composer.on("callback_query:data", async (c) => {
    const parsed = parseVerdictData(c.callbackQuery.data);
    if (!parsed) {
      await c.answerCallbackQuery({ text: STALE_BUTTON });
      return;
    }
    const reply = await handleChat(deps.ctx, actorOf(c.from.id), { kind: "tap", ...parsed });
    await answerTap(deps, c, reply);
  });
  return composer;
}

/**
 * A reply to the bot's force-reply question is the send-back notes it asked for; any other reply to a
 * card is a comment on the task (an activity note, never a verdict); a reply to anything else is read
 * as a message like any other.
 */
export function replies(deps: BotDeps): Composer<Context> {
  const composer = new Composer<Context>();
  composer.on("message:text", async (c, next) => {
    const asked = c.message.reply_to_message;
    if (!asked) return next();
    const ref = messageRef(c.chat.id, asked.message_id);
    const question = await notesQuestionAt(deps.ctx, "telegram", ref);
    const card = question ? null : await cardAt(deps.ctx, "telegram", ref);
    if (!question && !card) return next();
    const input: ChatInput = question ? { kind: "notes", ...question, text: c.message.text } : { kind: "comment", ...card!, text: c.message.text };
    await respond(deps, c, await handleChat(deps.ctx, actorOf(c.from.id), input));
  });
  return composer;
}

/** Every other text message: a command of DESIGN §10, or free text, which gets help. */
export function commands(deps: BotDeps): Composer<Context> {
  const composer = new Composer<Context>();
  composer.on("message:text", async (c) => {
    await respond(deps, c, await handleChat(deps.ctx, actorOf(c.from.id), { kind: "message", text: c.message.text }));
  });
  return composer;
}

/**
 * Replies (not notifications, which the outbox retries) ride out a short 429 or 5xx: wait what
 * Telegram asks, up to ten seconds, three times at most. Long polling is left alone.
 */
export function retryBriefly(sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))): Transformer {
  return async (prev, method, payload, signal) => {
    for (let attempt = 0; ; attempt++) {
      let wait: number | null = null;
      try {
        const result = await prev(method, payload, signal);
        if (result.ok || method === "getUpdates" || attempt >= 3) return result;
        if (result.error_code === 429) wait = (result.parameters?.retry_after ?? 1) * 1000;
        else if (result.error_code >= 500) wait = 500 * 2 ** attempt;
        if (wait === null || wait > 10_000) return result;
      } catch (error) {
        if (method === "getUpdates" || attempt >= 3 || signal?.aborted) throw error;
        wait = 500 * 2 ** attempt;
      }
      await sleep(wait);
    }
  };
}
