import type { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { startPlatform, type PlatformService, type StartOptions } from "../../src/chat/platform-startup.ts";
import { ValidationError, toCosError } from "../../src/shared/errors.ts";
import { createSlackApp } from "./app.ts";
import { SlackInbox, mountSlackEvents } from "./receiver.ts";
import { outboxClient, slackTransport } from "./transport.ts";

export type SlackService = PlatformService<SlackInbox>;
export type SlackOptions = StartOptions;

/**
 * The Slack side of `cos serve`, started through the shared start-up: the Bolt app, `POST
 * /slack/events` on `app` (call before the server listens) and the inbox feeding Bolt; the start-up
 * adds the outbox worker posting to SLACK_CHANNEL_ID and the digest.
 */
export async function startSlack(ctx: AppContext, app: Hono, log: (line: string) => void, options: SlackOptions = {}): Promise<SlackService> {
  const env = ctx.env;
  const token = env.SLACK_BOT_TOKEN;
  if (!token) throw new ValidationError("SLACK_BOT_TOKEN is not set");
  const secret = env.SLACK_SIGNING_SECRET;
  if (!secret) throw new ValidationError("SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: copy it from the Slack app's Basic Information page, so that only Slack can post to /slack/events");
  // The Web API client joins method names to this base, so it must end with a slash.
  const slackApiUrl = env.SLACK_API_URL ? `${env.SLACK_API_URL.replace(/\/+$/, "")}/` : undefined;

  return startPlatform(
    ctx,
    "slack",
    log,
    async (deps) => {
      const slack = createSlackApp(deps, { token, slackApiUrl });
      try {
        const me = await slack.bolt.client.auth.test();
        log(`slack: ${me.user ?? "bot"} ready in ${me.team ?? "the workspace"} (events at /slack/events)`);
      } catch (error) {
        throw new ValidationError(`Slack refused or could not be reached (auth.test: ${toCosError(error).message}): check SLACK_BOT_TOKEN${slackApiUrl ? ` and SLACK_API_URL (${slackApiUrl})` : ""}`);
      }
      const inbox = new SlackInbox(ctx, (body) => slack.dispatch(body), log, deps.afterHandle);
      mountSlackEvents(app, ctx, secret, inbox, log);
      return { inbox, transport: (channel) => slackTransport(outboxClient(token, slackApiUrl), { channel, ...deps.render }) };
    },
    options,
  );
}
