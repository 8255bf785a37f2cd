import { Api, GrammyError } from "grammy";
import type { UserFromGetMe } from "grammy/types";
import type { Hono } from "hono";
import cron from "node-cron";
import type { AppContext } from "../../src/app/context.ts";
import { COMMAND_HELP } from "../../src/chat/grammar.ts";
import { OutboxWorker } from "../../src/outbox/outbox.ts";
import { ValidationError, toCosError } from "../../src/shared/errors.ts";
import { createBot } from "./bot.ts";
import { TelegramInbox, mountWebhook } from "./inbox.ts";
import { ALLOWED_UPDATES, Poller } from "./polling.ts";
import { telegramTransport } from "./transport.ts";
import { enqueueDailyDigest } from "../../src/outbox/digest.ts";

export interface TelegramService {
  mode: "webhook" | "polling";
  inbox: TelegramInbox;
  /** Null when TELEGRAM_CHAT_ID is unset: commands work, nothing is pushed. */
  outbox: OutboxWorker | null;
  stop(): Promise<void>;
}

export interface TelegramOptions {
  botInfo?: UserFromGetMe;
  outboxIntervalMs?: number;
  pollTimeoutSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The Telegram side of `cos serve`: the webhook route (or long polling without COS_PUBLIC_URL), the
 * inbox, the outbox worker with the Telegram transport, and the digest on the configured cron. Call
 * it before the HTTP server listens: it adds `POST /telegram/webhook` to `app`.
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
  if (!cron.validate(ctx.config.digest.cron)) {
    throw new ValidationError(`digest.cron "${ctx.config.digest.cron}" is not a cron expression (e.g. "30 7 * * *")`);
  }
  const allowed = new Set(env.TELEGRAM_ALLOWED_USER_IDS);
  if (!allowed.size) log("telegram: TELEGRAM_ALLOWED_USER_IDS is empty, so every message will be refused");
  const render = { timezone: ctx.config.digest.timezone };
  const apiRoot = env.TELEGRAM_API_ROOT?.replace(/\/+$/, "");

  const bot = createBot({ ctx, allowed, render, log }, { token, apiRoot, ...(options.botInfo ? { botInfo: options.botInfo } : {}), ...(options.sleep ? { sleep: options.sleep } : {}) });
  let worker: OutboxWorker | null = null;
  const inbox = new TelegramInbox(
    ctx,
    (update) => bot.handleUpdate(update),
    log,
    // A verdict's card update was just written: deliver it now rather than at the next tick.
    (appended) => void (appended && worker?.deliverDue()),
  );
  mountWebhook(app, env.TELEGRAM_WEBHOOK_SECRET, inbox);

  try {
    await bot.init();
  } catch (error) {
    const why = error instanceof GrammyError ? `${error.error_code} ${error.description}` : toCosError(error).message;
    throw new ValidationError(`Telegram refused or could not be reached (getMe: ${why}): check TELEGRAM_BOT_TOKEN${apiRoot ? ` and TELEGRAM_API_ROOT (${apiRoot})` : ""}`);
  }
  await bot.api.setMyCommands(COMMAND_HELP.map(([command, description]) => ({ command, description: description.slice(0, 256) })));

  let digestTask: { destroy(): void | Promise<void> } | null = null;
  const chatId = env.TELEGRAM_CHAT_ID;
  if (chatId) {
    // The outbox has its own client without the reply retries: its back-off honours retry_after itself.
    const api = new Api(token, { ...(apiRoot ? { apiRoot } : {}), timeoutSeconds: 30 });
    worker = new OutboxWorker(ctx, [telegramTransport(api, { chatId, ...render, ...(options.sleep ? { sleep: options.sleep } : {}) })], log);
    worker.start(options.outboxIntervalMs ?? 500);
    digestTask = cron.schedule(
      ctx.config.digest.cron,
      async () => {
        try {
          await enqueueDailyDigest(ctx);
          void worker?.deliverDue();
        } catch (error) {
          log(`telegram: digest: ${toCosError(error).message}`);
        }
      },
      { timezone: ctx.config.digest.timezone, noOverlap: true },
    );
  } else {
    log("telegram: TELEGRAM_CHAT_ID is not set, so review cards, digests and alerts are not sent");
  }

  // Updates a crash left unhandled go first.
  void inbox.start();
  let poller: Poller | null = null;
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
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
    poller.start();
  }
  log(`telegram: @${bot.botInfo.username} ready (${mode === "webhook" ? `webhook at ${publicUrl}/telegram/webhook` : "long polling"})`);

  return {
    mode,
    inbox,
    outbox: worker,
    async stop() {
      await poller?.stop();
      await digestTask?.destroy();
      await inbox.stop();
      await worker?.stop();
    },
  };
}

export { enqueueDailyDigest };
