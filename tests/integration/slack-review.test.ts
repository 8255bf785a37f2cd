import { describe, expect, it } from "vitest";
import { showTask } from "../../src/app/views.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { Hono } from "hono";
import { enqueueDueDigests } from "../../src/outbox/digest.ts";
import { startSlack } from "../../handlers/slack/index.ts";
import { blocksText, buttonIds, linkButtons } from "../fixtures/fake-slack.ts";
import { taskInReview } from "./telegram-kit.ts";
import { CHANNEL, DM, OWNER, STRANGER, event, modalSubmit, slackCard, slackCardInReview, slash, tap, type SlackHarness } from "./slack-kit.ts";
import { chatHarnessesClosedAfterEach } from "./chat-kit.ts";

describe("the Slack app", () => {
  const { slackHarness: harness } = chatHarnessesClosedAfterEach();
  const verdicts = async (h: SlackHarness) =>
    (await h.ctx.store.readAll({ limit: 10_000 })).filter((e) => e.type === "VerdictRecorded").map((e) => e.data as { verdict: string; notes: string | null; by: string });

  it("queues a task from /cos, a DM and an @mention, saying what it understood; a malformed one queues nothing", async () => {
    const h = await harness();
    await h.send(slash("task Add MDX blog #research @scout area:blog"));
    await h.send(event({ type: "message", channel_type: "im", channel: DM, user: OWNER, text: "task From a DM #research @scout" }));
    await h.send(event({ type: "app_mention", channel: CHANNEL, user: OWNER, text: "<@UBOT> /task From a mention #research @scout" }));
    await h.send(slash("task #code @builder after:x"));
    await h.settle();
    expect((await h.ctx.db.query<{ title: string }>("SELECT title FROM tasks ORDER BY id")).map((r) => r.title)).toEqual(["Add MDX blog", "From a DM", "From a mention"]);
    expect(await showTask(h.ctx, 1)).toMatchObject({ type: "research", agent: "scout", area: "blog", status: "queued" });
    const replies = h.fake.ok("chat.postMessage").map((c) => `${c.params.channel}: ${blocksText(c.params.blocks as never)}`);
    // What a slash command answers is for the person who typed it.
    const ephemeral = h.fake.ok("chat.postEphemeral").map((c) => `${c.params.channel} ${c.params.user}: ${blocksText(c.params.blocks as never)}`);
    expect(ephemeral).toContain(`${CHANNEL} ${OWNER}: *Queued #1: Add MDX blog*\ntype research\nagent scout\nproject site\narea blog`);
    expect(replies.some((r) => r.startsWith(`${DM}: *Queued #2: From a DM*`))).toBe(true);
    expect(replies.some((r) => r.startsWith(`${CHANNEL}: *Queued #3: From a mention*`))).toBe(true);
    expect(ephemeral.at(-1)).toContain("after:x must list task ids");
    const events = await h.ctx.store.readAll({ limit: 100 });
    expect(events.find((e) => e.type === "TaskQueued")?.meta.actor).toBe(`user:slack:${OWNER}`);
  });

  it("carries the review page as a link button, whose tap Slack reports and the app only acknowledges", async () => {
    const h = await harness({ env: { COS_PUBLIC_URL: "https://cos.example.test" } });
    const { id, card } = await slackCardInReview(h);
    expect(linkButtons(card.blocks)).toEqual([{ label: "🔍 Review page", url: expect.stringMatching(new RegExp(`^https://cos\\.example\\.test/pages/task/${id}\\?k=t${id}\\.`)) }]);
    const replies = h.fake.calls.length;
    await h.send(tap("page:open", card));
    await h.settle();
    expect(h.fake.calls.slice(replies).map((c) => c.method)).toEqual([]);
    expect(await verdicts(h)).toEqual([]);
    // Decided, the card keeps its page and loses its verdict buttons.
    await h.send(tap(`v:d:${id}:1`, card));
    await h.settle();
    expect(buttonIds(card.blocks)).toEqual([]);
    expect(linkButtons(card.blocks)).toHaveLength(1);
  });

  it("posts a review card with buttons; approve records one verdict, updates the card, and a second tap answers already decided", async () => {
    const h = await harness();
    const { id, card } = await slackCardInReview(h, "Compare <MDX> & Markdown");
    expect(blocksText(card.blocks)).toContain("Compare &lt;MDX&gt; &amp; Markdown");
    expect(buttonIds(card.blocks)).toEqual([`v:a:${id}:1`, `v:s:${id}:1`, `v:d:${id}:1`]);

    await h.send(tap(`v:a:${id}:1`, card));
    await h.settle();
    expect((await showTask(h.ctx, id)).status).toBe("approved");
    expect(buttonIds(card.blocks)).toEqual([]);
    expect(blocksText(card.blocks)).toContain(`Approved by <@${OWNER}>`);
    expect(h.fake.ok("chat.postEphemeral").at(-1)!.params.text).toBe(`Approved #${id}`);

    await h.send(tap(`v:d:${id}:1`, card));
    await h.settle();
    expect(h.fake.ok("chat.postEphemeral").at(-1)!.params.text).toBe("already decided");
    expect(await verdicts(h)).toHaveLength(1);
    expect((await showTask(h.ctx, id)).status).toBe("approved");
  });

  it("send back opens a modal; its notes send the task back and update the card", async () => {
    const h = await harness();
    const { id, card } = await slackCardInReview(h);
    await h.send(tap(`v:s:${id}:1`, card));
    await h.settle();
    const opened = h.fake.ok("views.open").at(-1)!;
    const view = opened.params.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe("cos_send_back");
    expect(await verdicts(h)).toEqual([]);

    await h.send(modalSubmit(view.private_metadata, "Cite the sources, please"));
    await h.settle();
    expect(await verdicts(h)).toEqual([expect.objectContaining({ verdict: "sent_back", notes: "Cite the sources, please", by: `user:slack:${OWNER}` })]);
    expect(blocksText(card.blocks)).toContain("Sent back by");
    expect(blocksText(card.blocks)).toContain("Cite the sources, please");
  });

  it("discard records the verdict and the card shows it", async () => {
    const h = await harness();
    const { id, card } = await slackCardInReview(h);
    await h.send(tap(`v:d:${id}:1`, card));
    await h.settle();
    expect((await showTask(h.ctx, id)).status).toBe("discarded");
    expect(blocksText(card.blocks)).toContain("Discarded by");
  });

  it("refuses a stranger with an ephemeral message, logs it and records nothing", async () => {
    const h = await harness();
    const { id, card } = await slackCardInReview(h);
    await h.send(slash("task Sneaky #research @scout", STRANGER));
    await h.send(tap(`v:a:${id}:1`, card, STRANGER));
    // Chatter in the channel asks nothing of us: no refusal for it.
    await h.send(event({ type: "message", channel: CHANNEL, channel_type: "channel", user: STRANGER, text: "lunch?" }));
    await h.settle();
    expect((await h.ctx.db.query("SELECT id FROM tasks")).length).toBe(1);
    expect(await verdicts(h)).toEqual([]);
    const refusals = h.fake.ok("chat.postEphemeral").filter((c) => c.params.user === STRANGER);
    expect(refusals).toHaveLength(2);
    expect(String(refusals[0]!.params.text)).toContain("SLACK_ALLOWED_USER_IDS");
    expect(h.logs.filter((l) => l.includes(`refused user ${STRANGER}`))).toHaveLength(2);
    expect(buttonIds(card.blocks)).toHaveLength(3);
  });

  it("posts the digest to the channel, split within Block Kit's limits, once a day", async () => {
    const h = await harness();
    await taskInReview(h.ctx, "Waiting one");
    for (let i = 1; i <= 150; i++) await queueTask(h.ctx, { title: `Queued thing ${i} ${"x".repeat(60)}`, type: "research", agent: "scout" }, "cli");
    await h.settle();
    const before = h.fake.messagesIn(CHANNEL).length;
    h.clock.set("2026-11-24T07:30:00.000Z");
    expect(await enqueueDueDigests(h.ctx, ["slack"])).toEqual(["slack"]);
    expect(await enqueueDueDigests(h.ctx, ["slack"])).toEqual([]);
    await h.settle();
    const posted = h.fake.messagesIn(CHANNEL).slice(before);
    expect(posted[0]!.text).toContain("Digest");
    // 150 queue lines of ~90 characters: several sections, and more than one message's worth of text.
    expect(posted.filter((m) => m.text.includes("Digest")).length).toBeGreaterThanOrEqual(1);
    expect(posted.map((m) => blocksText(m.blocks)).join("\n")).toContain("Queued thing 150");
    for (const m of posted) {
      expect(m.blocks.length).toBeLessThanOrEqual(50);
      for (const b of m.blocks) expect(((b.text as { text?: string } | undefined)?.text ?? "").length).toBeLessThanOrEqual(3000);
    }
    expect(posted.some((m) => buttonIds(m.blocks).length === 3)).toBe(true);
  });

  it("honours Slack's Retry-After when rate limited and delivers afterwards", async () => {
    const h = await harness();
    h.fake.failNext("chat.postMessage", 1, 7);
    const id = await taskInReview(h.ctx);
    await h.slack.outbox!.deliverDue();
    const row = (await h.ctx.db.query<{ next_attempt_at: string; last_error: string }>("SELECT next_attempt_at, last_error FROM outbox WHERE platform = 'slack' AND kind = 'review_card'"))[0]!;
    expect(Date.parse(row.next_attempt_at) - h.clock.now().getTime()).toBe(7000);
    expect(row.last_error).toContain("rate limited");
    expect(slackCard(h.fake, id)).toBeUndefined();
    h.clock.advance(7000);
    await h.settle();
    expect(slackCard(h.fake, id)).toBeDefined();
  });

  it("handles at start a request a crash left stored but unhandled, once", async () => {
    const h = await harness();
    await h.slack.stop();
    const body = Object.fromEntries(new URLSearchParams(slash("task Left behind #research @scout").body));
    await h.ctx.db.write((tx) =>
      tx.execute({ sql: "INSERT INTO chat_updates (platform, update_id, payload, received_at) VALUES ('slack', 'trigger:left', ?, ?)", args: [JSON.stringify(body), h.clock.iso()] }),
    );
    const again = await startSlack(h.ctx, new Hono(), () => {}, { outboxIntervalMs: 50 });
    await again.inbox.idle();
    await again.stop();
    expect((await h.ctx.db.query<{ title: string }>("SELECT title FROM tasks")).map((r) => r.title)).toEqual(["Left behind"]);
    expect((await h.ctx.db.query("SELECT 1 FROM chat_updates WHERE handled_at IS NULL")).length).toBe(0);
  });
});
