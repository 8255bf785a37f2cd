import type { Hono } from "hono";
import cron from "node-cron";
import type { AppContext } from "../../src/app/context.ts";
import { OutboxWorker } from "../../src/outbox/outbox.ts";
import { ValidationError, toCosError } from "../../src/shared/errors.ts";
import { enqueueDailyDigest } from "../../src/outbox/digest.ts";
import { createSlackApp } from "./app.ts";
import { SlackInbox, mountSlackEvents } from "./receiver.ts";
import { outboxClient, slackTransport } from "./transport.ts";

export interface SlackService {
  inbox: SlackInbox;
  /** Null when SLACK_CHANNEL_ID is unset: commands work, nothing is pushed. */
  outbox: OutboxWorker | null;
  stop(): Promise<void>;
}

export interface SlackOptions {
  outboxIntervalMs?: number;
}

/**
 * The Slack side of `cos serve`: `POST /slack/events` on `app` (call before the server listens),
 * the inbox feeding Bolt, the outbox worker posting to SLACK_CHANNEL_ID, and the digest on its cron.
 */
export async function startSlack(ctx: AppContext, app: Hono, log: (line: string) => void, options: SlackOptions = {}): Promise<SlackService> {
  const env = ctx.env;
  const token = env.SLACK_BOT_TOKEN;
  if (!token) throw new ValidationError("SLACK_BOT_TOKEN is not set");
  const secret = env.SLACK_SIGNING_SECRET;
  if (!secret) throw new ValidationError("SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: copy it from the Slack app's Basic Information page, so that only Slack can post to /slack/events");
  if (!cron.validate(ctx.config.digest.cron)) throw new ValidationError(`digest.cron "${ctx.config.digest.cron}" is not a cron expression (e.g. "30 7 * * *")`);
  // The Web API client joins method names to this base, so it must end with a slash.
  const slackApiUrl = env.SLACK_API_URL ? `${env.SLACK_API_URL.replace(/\/+$/, "")}/` : undefined;
  const allowed = new Set(env.SLACK_ALLOWED_USER_IDS);
  if (!allowed.size) log("slack: SLACK_ALLOWED_USER_IDS is empty, so every request will be refused");
  const render = { timezone: ctx.config.digest.timezone };

  const slack = createSlackApp({ ctx, allowed, render, log }, { token, slackApiUrl });
  try {
    const me = await slack.bolt.client.auth.test();
    log(`slack: ${me.user ?? "bot"} ready in ${me.team ?? "the workspace"} (events at /slack/events)`);
  } catch (error) {
    throw new ValidationError(`Slack refused or could not be reached (auth.test: ${toCosError(error).message}): check SLACK_BOT_TOKEN${slackApiUrl ? ` and SLACK_API_URL (${slackApiUrl})` : ""}`);
  }

  let worker: OutboxWorker | null = null;
  const inbox = new SlackInbox(ctx, (body) => slack.dispatch(body), log, (appended) => void (appended && worker?.deliverDue()));
  mountSlackEvents(app, ctx, secret, inbox, log);

  let digestTask: { destroy(): void | Promise<void> } | null = null;
  const channel = env.SLACK_CHANNEL_ID;
  if (channel) {
    worker = new OutboxWorker(ctx, [slackTransport(outboxClient(token, slackApiUrl), { channel, ...render })], log);
    worker.start(options.outboxIntervalMs ?? 500);
    digestTask = cron.schedule(
      ctx.config.digest.cron,
      async () => {
        try {
          await enqueueDailyDigest(ctx, "slack");
          void worker?.deliverDue();
        } catch (error) {
          log(`slack: digest: ${toCosError(error).message}`);
        }
      },
      { timezone: ctx.config.digest.timezone, noOverlap: true },
    );
  } else {
    log("slack: SLACK_CHANNEL_ID is not set, so review cards, digests and alerts are not sent");
  }
  void inbox.start();

  return {
    inbox,
    outbox: worker,
    async stop() {
      await digestTask?.destroy();
      await inbox.stop();
      await worker?.stop();
    },
  };
}
