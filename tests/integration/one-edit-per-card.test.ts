import { describe, expect, it } from "vitest";
import { blocksText, buttonIds } from "../fixtures/fake-slack.ts";
import { messageUpdate, tapUpdate } from "../fixtures/fake-telegram.ts";
import { CHAT, OWNER, buttonData, cardInReview } from "./telegram-kit.ts";
import { slackCardInReview, slash, tap, CHANNEL, OWNER as SLACK_OWNER } from "./slack-kit.ts";
import { chatHarnessesClosedAfterEach } from "./chat-kit.ts";

// Issue #14, item 9: one edit per card. A tap edits its card once (it used to be edited by the tap's
// answer and again by the outbox, three times on a double tap), and the copies /review sent are
// updated by the verdict too.

describe("a verdict edits each card once", () => {
  const { telegramHarness, slackHarness } = chatHarnessesClosedAfterEach();

  it("Telegram: a double tap edits the card once, and the /review copy is updated too", async () => {
    const h = await telegramHarness();
    const { id, card } = await cardInReview(h);
    await h.send(messageUpdate("/review", { from: OWNER }));
    await h.settle();
    const copy = h.fake.messagesIn(OWNER).find((m) => m.text.startsWith(`#${id} `))!;
    expect(buttonData(copy.replyMarkup)).toHaveLength(3);

    const where = { chatId: CHAT, messageId: card.messageId };
    await h.send(tapUpdate(`v:a:${id}:1`, where, { from: OWNER }));
    await h.send(tapUpdate(`v:a:${id}:1`, where, { from: OWNER }));
    await h.settle();
    expect(h.fake.message(CHAT, card.messageId)!.edits).toBe(1);
    expect(h.fake.message(OWNER, copy.messageId)!.edits).toBe(1);
    for (const m of [h.fake.message(CHAT, card.messageId)!, h.fake.message(OWNER, copy.messageId)!]) {
      expect(m.text).toContain(`✅ Approved by User${OWNER}`);
      expect(buttonData(m.replyMarkup)).toEqual([]);
    }
    const toasts = h.fake.ok("answerCallbackQuery").map((c) => c.params.text);
    expect(toasts).toEqual([`Approved #${id}`, "already decided"]);
  });

  it("Slack: a tap edits the card once, and the /cos review copy is updated too", async () => {
    const h = await slackHarness();
    const { id, card } = await slackCardInReview(h);
    await h.send(slash("review"));
    await h.settle();
    const copy = h.fake.messagesIn(CHANNEL).filter((m) => m.text.startsWith(`#${id} `))[1]!;
    await h.send(tap(`v:a:${id}:1`, card));
    await h.send(tap(`v:a:${id}:1`, card));
    await h.settle();
    expect(card.edits).toBe(1);
    expect(copy.edits).toBe(1);
    for (const m of [card, copy]) {
      expect(buttonIds(m.blocks)).toEqual([]);
      expect(blocksText(m.blocks)).toContain(`Approved by <@${SLACK_OWNER}>`);
    }
  });
});
