import { afterEach, describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { showTask } from "../../src/app/views.ts";
import { createHttpApp } from "../../handlers/http/app.ts";
import { startHttp } from "../../handlers/http/serve.ts";
import { startSlack } from "../../handlers/slack/index.ts";
import { slackSignature } from "../../handlers/slack/receiver.ts";
import { startTelegram } from "../../handlers/telegram/index.ts";
import { startFakeTelegram, tapUpdate } from "../fixtures/fake-telegram.ts";
import { blocksText, buttonIds, linkButtons, startFakeSlack } from "../fixtures/fake-slack.ts";
import { movableClock, tempWorkspace } from "../helpers.ts";
import { CONFIG, OWNER as TG_OWNER, SECRET, buttonData, cardOfTask, postUpdate, taskInReview, telegramEnv } from "./telegram-kit.ts";
import { OWNER as SLACK_OWNER, SIGNING_SECRET, slackCard, slackEnv, tap } from "./slack-kit.ts";

describe("Telegram and Slack together", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("both work from one server, and a verdict given on one shows on the other's card", async () => {
    const tgFake = await startFakeTelegram();
    cleanups.push(tgFake.close);
    const slackFake = await startFakeSlack();
    cleanups.push(slackFake.close);
    const ws = tempWorkspace(CONFIG);
    cleanups.push(ws.cleanup);
    const clock = movableClock("2026-11-23T22:00:00.000Z");
    const env = parseEnv({ ...ws.env, COS_PORT: "0", ...telegramEnv(tgFake, "webhook"), ...slackEnv(slackFake) });
    const ctx = await openApp({ env, cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    const logs: string[] = [];
    const app = createHttpApp(ctx);
    const telegram = await startTelegram(ctx, app, (l) => logs.push(l), { outboxIntervalMs: 50, sleep: async () => {} });
    cleanups.push(telegram.stop);
    const slack = await startSlack(ctx, app, (l) => logs.push(l), { outboxIntervalMs: 50 });
    cleanups.push(slack.stop);
    const server = await startHttp(ctx, app);
    cleanups.push(server.close);

    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        await telegram.inbox.idle();
        await slack.inbox.idle();
        while (((await telegram.outbox!.deliverDue()) ?? 0) + ((await slack.outbox!.deliverDue()) ?? 0)) {
          /* until nothing is due on either */
        }
      }
    };
    const sendSlack = async (request: { body: string; contentType: string }) => {
      const ts = String(Math.floor(clock.now().getTime() / 1000));
      const response = await fetch(`http://127.0.0.1:${server.port}/slack/events`, {
        method: "POST",
        headers: { "content-type": request.contentType, "x-slack-request-timestamp": ts, "x-slack-signature": slackSignature(SIGNING_SECRET, ts, request.body) },
        body: request.body,
      });
      expect(response.status).toBe(200);
    };

    // Approved from Slack: the Telegram card is edited to show it.
    const first = await taskInReview(ctx, "First finding");
    await settle();
    const tgFirst = cardOfTask(tgFake, first)!;
    const slackFirst = slackCard(slackFake, first)!;
    expect(buttonData(tgFirst.replyMarkup)).toHaveLength(3);
    expect(buttonIds(slackFirst.blocks)).toHaveLength(3);
    // Both cards open the task's review page: a link button in Slack, a url button in Telegram's group chat.
    const [slackPage] = linkButtons(slackFirst.blocks);
    expect(slackPage).toEqual({ label: "🔍 Review page", url: expect.stringContaining(`/pages/task/${first}?k=t${first}.`) });
    expect((tgFirst.replyMarkup as { inline_keyboard: { url?: string }[][] }).inline_keyboard[1]![0]!.url).toContain(`/pages/task/${first}?k=t${first}.`);
    await sendSlack(tap(`v:a:${first}:1`, slackFirst));
    await settle();
    expect((await showTask(ctx, first)).status).toBe("approved");
    const tgFirstNow = tgFake.message(tgFirst.chatId, tgFirst.messageId)!;
    expect(tgFirstNow.text).toContain(`Approved by user:slack:${SLACK_OWNER}`);
    expect(buttonData(tgFirstNow.replyMarkup)).toEqual([]);

    // Discarded from Telegram: the Slack card is updated to show it.
    const second = await taskInReview(ctx, "Second finding");
    await settle();
    const tgSecond = cardOfTask(tgFake, second)!;
    const slackSecond = slackCard(slackFake, second)!;
    const response = await postUpdate(server.port, { update_id: 70001, ...tapUpdate(`v:d:${second}:1`, { chatId: tgSecond.chatId, messageId: tgSecond.messageId }, { from: TG_OWNER }) }, SECRET);
    expect(response.status).toBe(200);
    await settle();
    expect((await showTask(ctx, second)).status).toBe("discarded");
    expect(blocksText(slackSecond.blocks)).toContain(`Discarded by user:telegram:${TG_OWNER}`);
    expect(buttonIds(slackSecond.blocks)).toEqual([]);
    expect(slackFake.ok("chat.update").length).toBeGreaterThanOrEqual(2);
  });
});
