import type { AppContext } from "../app/context.ts";
import { rememberName } from "../app/people.ts";
import { allowedUsers } from "../config/platforms.ts";
import { ForbiddenError, UnauthorizedError } from "../shared/errors.ts";
import { signKey } from "./links.ts";
import { checkInitData, type TelegramUser } from "./telegram-init-data.ts";

// What Telegram's signed initData gives a review page (DESIGN §13): the person, when Telegram vouches for
// someone on TELEGRAM_ALLOWED_USER_IDS. A page opened as a Mini App without a key of its own (the bot's
// menu button, or a card's link past its expiry) trades it for a fresh key; a verdict given inside
// Telegram is recorded for that person rather than for the link's holder.

/** The actor of a verdict given through a link alone: whoever holds it (named "the review page"). */
export const LINK_ACTOR = "page";

/** The allowed Telegram user `initData` names, or the refusal (bad signature, too old, not allowed). */
export function allowedTelegramUser(ctx: AppContext, initData: string): TelegramUser {
  const token = ctx.env.TELEGRAM_BOT_TOKEN;
  if (!token) throw new UnauthorizedError("this server has no Telegram bot, so Telegram's data cannot be checked");
  const user = checkInitData(initData, token, ctx.clock());
  if (!allowedUsers(ctx.env, "telegram").has(user.id)) {
    throw new ForbiddenError(`Telegram user ${user.id} is not in TELEGRAM_ALLOWED_USER_IDS`);
  }
  return user;
}

/** A key opening every page, for a person Telegram vouches for. */
export function keyForTelegramUser(ctx: AppContext, initData: string): string {
  allowedTelegramUser(ctx, initData);
  return signKey(ctx, { kind: "queue" });
}

/**
 * Who a page's verdict is recorded for: the Telegram user when the page runs inside Telegram (whose name
 * is remembered, as the bot remembers it from their messages), else the link's holder.
 */
export async function pageActor(ctx: AppContext, initData: string | null): Promise<string> {
  if (!initData) return LINK_ACTOR;
  const user = allowedTelegramUser(ctx, initData);
  if (user.name) await rememberName(ctx.db, "telegram", user.id, user.name, ctx.clock().toISOString());
  return `user:telegram:${user.id}`;
}
