import { Api, GrammyError } from "grammy";
import type { UserFromGetMe } from "grammy/types";
import type { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { COMMAND_HELP } from "../../src/chat/grammar.ts";
import { startPlatform, type PlatformService } from "../../src/chat/platform-startup.ts";
import { ValidationError, toCosError } from "../../src/shared/errors.ts";
import { createBot } from "./bot.ts";
import { TelegramInbox, mountWebhook } from "./inbox.ts";
import { ALLOWED_UPDATES, Poller } from "./polling.ts";
import { telegramTransport } from "./transport.ts";

export interface TelegramService extends PlatformService<TelegramInbox> {
  mode: "webhook" | "polling";
}

export interface TelegramOptions {
  botInfo?: UserFromGetMe;
  outboxIntervalMs?: number;
  pollTimeoutSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The Telegram side of `cos serve`, started through the shared start-up: the bot, the webhook route
 * (or long polling without COS_PUBLIC_URL) and the inbox; the start-up adds the outbox worker with
 * the Telegram transport and the digest. Call it before the HTTP server listens: it adds
 * `POST /telegram/webhook` to `app`.
 */
export async function startTelegram(ctx: AppContext, app: Hono, log: (line: string) => void, options: TelegramOptions = {}): Promise<TelegramService> {
  const env = ctx.env;
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) throw new ValidationError("TELEGRAM_BOT_TOKEN is not set");
  const publicUrl = env.COS_PUBLIC_URL?.replace(/\/+$/, "");
  const mode = publicUrl ? "webhook" : "polling";
  if (mode === "webhook" && !env.TELEGRAM_WEBHOOK_SECRET) {
    throw new ValidationError(
      "COS_PUBLIC_URL is set, so Telegram would call the webhook, but TELEGRAM_WEBHOOK_SECRET is not: set it (any long random string) so that only Telegram can post updates, or unset COS_PUBLIC_URL to use long polling",
    );
  }
  const apiRoot = env.TELEGRAM_API_ROOT?.replace(/\/+$/, "");
  const sleep = options.sleep ? { sleep: options.sleep } : {};

  const service = await startPlatform(
    ctx,
    "telegram",
    log,
    async (deps) => {
      const bot = createBot(deps, { token, apiRoot, ...(options.botInfo ? { botInfo: options.botInfo } : {}), ...sleep });
      const inbox = new TelegramInbox(ctx, (update) => bot.handleUpdate(update), log, deps.afterHandle);
      mountWebhook(app, env.TELEGRAM_WEBHOOK_SECRET, inbox);
      try {
        await bot.init();
      } catch (error) {
        const why = error instanceof GrammyError ? `${error.error_code} ${error.description}` : toCosError(error).message;
        throw new ValidationError(`Telegram refused or could not be reached (getMe: ${why}): check TELEGRAM_BOT_TOKEN${apiRoot ? ` and TELEGRAM_API_ROOT (${apiRoot})` : ""}`);
      }
      await bot.api.setMyCommands(
        COMMAND_HELP.map(([command, args, what]) => ({ command, description: `${what}${args ? `: /${command} ${args}` : ""}`.slice(0, 256) })),
      );

      let poller: Poller | null = null;
      return {
        inbox,
        // The outbox has its own client without the reply retries: its back-off honours retry_after itself.
        transport: (chatId) => telegramTransport(new Api(token, { ...(apiRoot ? { apiRoot } : {}), timeoutSeconds: 30 }), { chatId, ...deps.render, ...sleep }),
        async listen() {
          if (mode === "webhook") {
            await bot.api.setWebhook(`${publicUrl}/telegram/webhook`, {
              secret_token: env.TELEGRAM_WEBHOOK_SECRET!,
              allowed_updates: [...ALLOWED_UPDATES],
              max_connections: 40,
            });
          } else {
            // A webhook left from an earlier deployment would make getUpdates fail with 409.
            await bot.api.deleteWebhook({ drop_pending_updates: false });
            poller = new Poller(bot.api, inbox, log, {
              ...(options.pollTimeoutSeconds !== undefined ? { timeoutSeconds: options.pollTimeoutSeconds } : {}),
              ...sleep,
            });
            poller.start();
          }
          log(`telegram: @${bot.botInfo.username} ready (${mode === "webhook" ? `webhook at ${publicUrl}/telegram/webhook` : "long polling"})`);
        },
        stopListening: async () => poller?.stop(),
      };
    },
    options,
  );
  return { mode, ...service };
}
