import type { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { createHttpApp } from "../../handlers/http/app.ts";
import { startHttp, type Server } from "../../handlers/http/serve.ts";
import { startSlack, type SlackService } from "../../handlers/slack/index.ts";
import { slackSignature } from "../../handlers/slack/receiver.ts";
import { startFakeSlack, type FakeSlack } from "../fixtures/fake-slack.ts";
import { movableClock, tempWorkspace, type MovableClock, type TempWorkspace } from "../helpers.ts";
import { CONFIG, settlePlatform, taskWithCard, telegramEnv } from "./telegram-kit.ts";
import { startTelegram, type TelegramService } from "../../handlers/telegram/index.ts";
import { startFakeTelegram, type FakeTelegram } from "../fixtures/fake-telegram.ts";

export const OWNER = "U0OWNER";
export const STRANGER = "U0STRANGER";
export const CHANNEL = "C0REVIEWS";
export const DM = "D0OWNER";
export const SIGNING_SECRET = "slack-signing-secret-0123456789abcdef";

export function slackEnv(fake: FakeSlack): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: fake.token,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
    SLACK_ALLOWED_USER_IDS: `${OWNER},U0OTHER`,
    SLACK_CHANNEL_ID: CHANNEL,
  };
}

export interface SlackHarness {
  ctx: AppContext;
  ws: TempWorkspace;
  clock: MovableClock;
  fake: FakeSlack;
  slack: SlackService;
  server: Server;
  app: Hono;
  logs: string[];
  /** POSTs a signed request to /slack/events; the form or JSON body as Slack sends it. */
  post(body: string, contentType: string, headers?: Record<string, string>): Promise<Response>;
  /** Signs and posts a body; throws unless 200. */
  send(request: SlackRequest): Promise<void>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export type SlackRequest = { body: string; contentType: string };

let counter = 0;
const nextId = () => `${Date.now().toString(36)}${++counter}`;

export const slash = (text: string, user = OWNER, channel = CHANNEL): SlackRequest => ({
  contentType: "application/x-www-form-urlencoded",
  body: new URLSearchParams({
    token: "legacy",
    team_id: "T0TEST",
    channel_id: channel,
    channel_name: "reviews",
    user_id: user,
    user_name: "someone",
    command: "/cos",
    text,
    response_url: "https://hooks.slack.invalid/commands/1",
    trigger_id: `trig.${nextId()}`,
  }).toString(),
});

/** An interaction as Slack posts it: a form whose payload names its type, team, user, app and a fresh trigger. */
const interactive = (type: string, user: string, fields: object): SlackRequest => ({
  contentType: "application/x-www-form-urlencoded",
  body: new URLSearchParams({
    payload: JSON.stringify({ type, team: { id: "T0TEST" }, user: { id: user }, api_app_id: "A0APP", trigger_id: `trig.${nextId()}`, ...fields }),
  }).toString(),
});

export const tap = (actionId: string, message: { channel: string; ts: string }, user = OWNER): SlackRequest =>
  interactive("block_actions", user, {
    channel: { id: message.channel },
    container: { type: "message", channel_id: message.channel, message_ts: message.ts },
    message: { ts: message.ts, type: "message" },
    actions: [{ type: "button", action_id: actionId, block_id: "verdict", value: actionId, action_ts: "1.1" }],
  });

export const modalSubmit = (privateMetadata: string, notes: string, user = OWNER): SlackRequest =>
  interactive("view_submission", user, {
    view: {
      id: "V1",
      type: "modal",
      callback_id: "cos_send_back",
      private_metadata: privateMetadata,
      state: { values: { notes: { notes: { type: "plain_text_input", value: notes } } } },
    },
  });

export const event = (ev: Record<string, unknown>, eventId = `Ev${nextId()}`): SlackRequest => ({
  contentType: "application/json",
  body: JSON.stringify({ token: "legacy", team_id: "T0TEST", api_app_id: "A0APP", type: "event_callback", event_id: eventId, event_time: 1, event: { ts: `${Date.now() / 1000}`, ...ev } }),
});

export async function startSlackHarness(options: { env?: Record<string, string>; fake?: FakeSlack; config?: object } = {}): Promise<SlackHarness> {
  const fake = options.fake ?? (await startFakeSlack());
  const ws = tempWorkspace(options.config ?? CONFIG);
  const clock = movableClock("2026-11-23T22:00:00.000Z");
  const logs: string[] = [];
  const env = parseEnv({ ...ws.env, COS_PORT: "0", ...slackEnv(fake), ...options.env });
  const ctx = await openApp({ env, cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
  const app = createHttpApp(ctx);
  const slack = await startSlack(ctx, app, (line) => logs.push(line), { outboxIntervalMs: 50 });
  const server = await startHttp(ctx, app);
  const post = (body: string, contentType: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${server.port}/slack/events`, { method: "POST", headers: { "content-type": contentType, ...headers }, body });
  const h: SlackHarness = {
    ctx,
    ws,
    clock,
    fake,
    slack,
    server,
    app,
    logs,
    post,
    async send(request) {
      const ts = String(Math.floor(clock.now().getTime() / 1000));
      const response = await post(request.body, request.contentType, {
        "x-slack-request-timestamp": ts,
        "x-slack-signature": slackSignature(SIGNING_SECRET, ts, request.body),
      });
      if (response.status !== 200) throw new Error(`/slack/events answered ${response.status}: ${await response.text()}`);
    },
    settle: () => settlePlatform(slack),
    async close() {
      await slack.stop();
      await server.close();
      await ctx.db.close();
      if (!options.fake) await fake.close();
      ws.cleanup();
    },
  };
  return h;
}

/** The card the outbox posted for a task in the review channel. */
export function slackCard(fake: FakeSlack, taskId: number) {
  return fake.messagesIn(CHANNEL).find((m) => m.text.startsWith(`#${taskId} `));
}

/** A research task in review with its card posted in the review channel. */
export const slackCardInReview = (h: SlackHarness, title?: string) => taskWithCard(h, slackCard, title);

/** Telegram and Slack served from one process and store, as `cos serve` does with both configured. */
export async function startBothPlatforms(options: { telegramMode: "webhook" | "polling"; env?: Record<string, string>; outboxIntervalMs?: number }) {
  const tgFake = await startFakeTelegram();
  const slackFake = await startFakeSlack();
  const ws = tempWorkspace(CONFIG);
  const clock = movableClock("2026-11-23T22:00:00.000Z");
  const env = parseEnv({ ...ws.env, COS_PORT: "0", ...telegramEnv(tgFake, options.telegramMode), ...slackEnv(slackFake), ...options.env });
  const ctx = await openApp({ env, cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
  const logs: string[] = [];
  const app = createHttpApp(ctx);
  const outboxIntervalMs = options.outboxIntervalMs ?? 50;
  const telegram: TelegramService = await startTelegram(ctx, app, (l) => logs.push(l), { outboxIntervalMs, pollTimeoutSeconds: 1, sleep: async () => {} });
  const slack = await startSlack(ctx, app, (l) => logs.push(l), { outboxIntervalMs });
  const server = await startHttp(ctx, app);
  return {
    tgFake: tgFake as FakeTelegram,
    slackFake,
    ws,
    clock,
    ctx,
    app,
    telegram,
    slack,
    server,
    logs,
    async close() {
      await telegram.stop();
      await slack.stop();
      await server.close();
      await ctx.db.close();
      await tgFake.close();
      await slackFake.close();
      ws.cleanup();
    },
  };
}
