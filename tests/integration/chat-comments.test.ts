import { describe, expect, it } from "vitest";
import { showTask } from "../../src/app/views.ts";
import { blocksText } from "../fixtures/fake-slack.ts";
import { messageUpdate } from "../fixtures/fake-telegram.ts";
import { CHAT, OWNER as TG_OWNER, cardInReview, taskInReview } from "./telegram-kit.ts";
import { CHANNEL, OWNER, event, slackCard, slackCardInReview, slash } from "./slack-kit.ts";
import { chatHarnessesClosedAfterEach } from "./chat-kit.ts";

// Issue #14, item 1: a casual reply never decides anything. A reply to a card is a comment on the task;
// sending back takes the modal, /sendback 42 <notes>, or a reply to the bot's own "notes?" message.

describe("replies to a card", () => {
  const { telegramHarness, slackHarness } = chatHarnessesClosedAfterEach();

  const verdictsOf = async (ctx: { store: { readAll(o: { limit: number }): Promise<{ type: string }[]> } }) =>
    (await ctx.store.readAll({ limit: 10_000 })).filter((e) => e.type === "VerdictRecorded");

  it("Slack: a thread reply 'lgtm' on a card leaves the task in review, is noted as a comment, and the card's thread says so to its writer only", async () => {
    const h = await slackHarness();
    const { id, card } = await slackCardInReview(h);
    await h.send(event({ type: "message", channel: CHANNEL, channel_type: "channel", user: OWNER, text: "lgtm, nice work", thread_ts: card.ts, ts: "1700009999.000200" }));
    await h.settle();

    expect((await showTask(h.ctx, id)).status).toBe("review");
    expect(await verdictsOf(h.ctx)).toEqual([]);
    expect((await showTask(h.ctx, id)).activity.at(-1)!.text).toBe(`comment by user:slack:${OWNER}: lgtm, nice work`);
    const told = h.fake.ok("chat.postEphemeral").at(-1)!;
    expect(told.params).toMatchObject({ channel: CHANNEL, user: OWNER, thread_ts: card.ts });
    expect(blocksText(told.params.blocks as never)).toBe(
      `Noted on #${id} as a comment: it decides nothing.\nTo send it back with notes: the Send back button, or /cos sendback ${id} &lt;notes&gt;.`,
    );
    expect(buttonCount(card.blocks)).toBe(3);
  });

  it("Slack: /cos sendback 42 without notes asks in the channel, and a reply in that question's thread sends it back", async () => {
    const h = await slackHarness();
    const id = await taskInReview(h.ctx, "Research MDX");
    await h.settle();
    await h.send(slash(`sendback ${id}`));
    await h.settle();
    const question = h.fake.messagesIn(CHANNEL).find((m) => m.text.startsWith(`Notes for #${id}`))!;
    expect(question.text).toBe(`Notes for #${id} "Research MDX": Reply in this message's thread with your notes.`);
    await h.send(event({ type: "message", channel: CHANNEL, channel_type: "channel", user: OWNER, text: "Cite the sources", thread_ts: question.ts, ts: "1700009999.000300" }));
    await h.settle();
    expect(await verdictsOf(h.ctx)).toHaveLength(1);
    expect(await showTask(h.ctx, id)).toMatchObject({ status: "queued", attempt: 2, feedback: { notes: "Cite the sources" } });
    expect(blocksText(slackCard(h.fake, id)!.blocks)).toContain(`Sent back by <@${OWNER}>: Cite the sources`);
  });

  it("Telegram: a reply to the card itself is a comment, not a verdict", async () => {
    const h = await telegramHarness();
    const { id, card } = await cardInReview(h);
    await h.send(messageUpdate("lgtm", { from: TG_OWNER, chat: CHAT, replyTo: card.messageId }));
    await h.settle();
    expect((await showTask(h.ctx, id)).status).toBe("review");
    expect(await verdictsOf(h.ctx)).toEqual([]);
    expect(h.fake.messagesIn(CHAT).at(-1)!.text).toBe(
      `Noted on #${id} as a comment: it decides nothing.\nTo send it back with notes: the Send back button, or /sendback ${id} <notes>.`,
    );
  });
});

function buttonCount(blocks: Record<string, unknown>[]): number {
  return blocks.filter((b) => b.type === "actions").flatMap((b) => b.elements as unknown[]).length;
}
