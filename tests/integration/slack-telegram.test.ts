import { describe, expect, it } from "vitest";
import { showTask } from "../../src/app/views.ts";
import { slackSignature } from "../../handlers/slack/receiver.ts";
import { tapUpdate } from "../fixtures/fake-telegram.ts";
import { blocksText, buttonIds, linkButtons } from "../fixtures/fake-slack.ts";
import { OWNER as TG_OWNER, SECRET, buttonData, cardOfTask, postUpdate, taskInReview } from "./telegram-kit.ts";
import { OWNER as SLACK_OWNER, SIGNING_SECRET, slackCard, startBothPlatforms, tap } from "./slack-kit.ts";
import { cleanupsAfterEach } from "../helpers.ts";

describe("Telegram and Slack together", () => {
  const cleanups = cleanupsAfterEach();

  it("both work from one server, and a verdict given on one shows on the other's card", async () => {
    const both = await startBothPlatforms({ telegramMode: "webhook" });
    cleanups.push(both.close);
    const { tgFake, slackFake, ctx, clock, telegram, slack, server } = both;

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
    expect(tgFirstNow.text).toContain(`Approved by Slack user ${SLACK_OWNER}`);
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
    expect(blocksText(slackSecond.blocks)).toContain(`Discarded by User${TG_OWNER}`);
    expect(buttonIds(slackSecond.blocks)).toEqual([]);
    expect(slackFake.ok("chat.update").length).toBeGreaterThanOrEqual(2);
  });
});
