import { describe, expect, it } from "vitest";
import { showTask } from "../../src/app/views.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { reportRun } from "../../src/app/runs.ts";
import { enqueueDueDigests } from "../../src/outbox/digest.ts";
import { runPass } from "../../resolver/pass.ts";
import { messageUpdate, tapUpdate } from "../fixtures/fake-telegram.ts";
import { CHAT, CONFIG, OWNER, STRANGER, buttonData, cardOfTask, taskInReview, waitUntil, askAsOwner } from "./telegram-kit.ts";
import { chatHarnessesClosedAfterEach } from "./chat-kit.ts";

describe("the Telegram bot on long polling", () => {
  const { telegramHarness: harness } = chatHarnessesClosedAfterEach("polling");

  const ask = askAsOwner;

  it("polls without a public URL: drops any webhook, never sets one, and the webhook route stays shut", async () => {
    const h = await harness();
    expect(h.fake.ok("deleteWebhook")).toHaveLength(1);
    expect(h.fake.calls.filter((c) => c.method === "setWebhook")).toEqual([]);
    expect(h.telegram.mode).toBe("polling");
    // No TELEGRAM_WEBHOOK_SECRET: nothing can be posted to the webhook, whatever the header says.
    for (const secret of [undefined, "", "anything"]) {
      const response = await h.app.request("/telegram/webhook", {
        method: "POST",
        headers: { "content-type": "application/json", ...(secret !== undefined ? { "x-telegram-bot-api-secret-token": secret } : {}) },
        body: JSON.stringify({ update_id: 1, ...messageUpdate("/pause", { from: OWNER }) }),
      });
      expect(response.status).toBe(401);
    }
    expect(await h.ctx.db.query("SELECT * FROM chat_updates")).toEqual([]);
    const getUpdates = await h.fake.waitFor(() => h.fake.calls.find((c) => c.method === "getUpdates"));
    expect(getUpdates.params).toMatchObject({ timeout: 5, allowed_updates: ["message", "callback_query"] });
    const reply = await ask(h, "/task Add MDX blog #research @scout area:blog");
    expect(reply).toBe("Queued #1: Add MDX blog\ntype research\nagent scout\nproject site\narea blog");
  });

  it("answers every command of the chat contract", async () => {
    const h = await harness();
    const review = await taskInReview(h.ctx, "Ready for review");
    const blocker = await queueTask(h.ctx, { title: "Blocker", type: "research", agent: "writer" }, "cli");
    const waiting = await queueTask(h.ctx, { title: "Waiting", type: "research", agent: "writer", blockedBy: [blocker] }, "cli");
    await h.settle();

    const reviewReply = await ask(h, "/review");
    expect(reviewReply).toContain("1 waiting for review");
    expect(reviewReply).toContain(`#${review} Ready for review`);
    expect(buttonData(h.fake.messagesIn(OWNER).at(-1)!.replyMarkup)).toEqual([`v:a:${review}:1`, `v:s:${review}:1`, `v:d:${review}:1`]);
    expect(await ask(h, "/status")).toContain("In review: 1 (/review shows them).\nQueued (2):");
    expect(await ask(h, "/queue")).toMatch(new RegExp(`Queue \\(2\\)\\n#${blocker} Blocker \\[writer\\]: .*\\n#${waiting} Waiting \\[writer\\]: .*#${blocker}`));
    expect(await ask(h, `/why ${waiting}`)).toContain(`#${blocker}`);
    expect(await ask(h, "/trust")).toContain("scout research: auto");
    expect(await ask(h, "/mode sprint")).toBe("mode: sprint (already)");
    expect(await ask(h, "/mode nap")).toContain("usage: /mode sprint or /mode idle");
    expect(await ask(h, "/pause")).toContain("paused");
    expect(await ask(h, "/resume")).toBe("resumed: ready tasks are dispatched again");
    expect(await ask(h, "/tier @scout research gate")).toBe("scout research: pinned at gate");
    expect(await ask(h, "/tier @scout research clear")).toBe("scout research: pin cleared; trust decides again");
    expect(await ask(h, `/cancel ${waiting}`)).toBe(`#${waiting} cancelled.`);
    expect((await showTask(h.ctx, waiting)).status).toBe("cancelled");
    expect(await ask(h, `/retry ${waiting}`)).toBe(`#${waiting} queued again for attempt 2`);
    expect(await ask(h, "/cancel 999")).toContain("task #999 does not exist");
    const help = await ask(h, "/help");
    for (const command of ["task", "review", "status", "queue", "why", "trust", "mode", "pause", "resume", "digest", "tier", "cancel", "retry", "sendback", "diff", "help"]) {
      expect(help).toMatch(new RegExp(`^/${command}( [^\n]*)?: `, "m"));
    }
    const digest = await ask(h, "/digest");
    expect(digest).toContain("Waiting for your review (1)");
    expect(digest).toContain(`#${review} Ready for review`);
    expect(await ask(h, `/diff ${review}`)).toContain("no branch of its own");
    expect(await ask(h, "hello there")).toContain("I take commands, not conversation");
  });

  it("decides from cards: approve, send back through the force-reply, discard; a double tap and a stranger's tap record nothing", async () => {
    const h = await harness();
    const [a, s, d] = [await taskInReview(h.ctx, "A"), await taskInReview(h.ctx, "S", "writer"), await taskInReview(h.ctx, "D", "builder")];
    await h.settle();
    const card = (id: number) => cardOfTask(h.fake, id)!;
    const tap = (data: string, id: number, from = OWNER) => h.send(tapUpdate(data, { chatId: CHAT, messageId: card(id).messageId }, { from }));

    await tap(`v:a:${a}:1`, a, STRANGER);
    await tap(`v:a:${a}:1`, a);
    await tap(`v:a:${a}:1`, a);
    await tap(`v:d:${d}:1`, d);
    await tap(`v:s:${s}:1`, s);
    await h.settle();
    const question = h.fake.messagesIn(CHAT).find((m) => m.text.startsWith(`Notes for #${s}`))!;
    await h.send(messageUpdate("Cite the sources 📚 & <dates>", { from: OWNER, chat: CHAT, replyTo: question.messageId }));
    // A second answer to the same question finds the task decided.
    await h.send(messageUpdate("and one more thing", { from: OWNER, chat: CHAT, replyTo: question.messageId }));
    await h.settle();

    const recorded = (await h.ctx.store.readAll({ limit: 10_000 }))
      .filter((e) => e.type === "VerdictRecorded")
      .map((e) => ({ task: Number(e.stream.slice(5)), ...(e.data as { verdict: string; notes: string | null }), by: e.meta.actor }));
    expect(recorded).toEqual([
      expect.objectContaining({ task: a, verdict: "approved", notes: null, by: `user:telegram:${OWNER}` }),
      expect.objectContaining({ task: d, verdict: "discarded", notes: null }),
      expect.objectContaining({ task: s, verdict: "sent_back", notes: "Cite the sources 📚 & <dates>" }),
    ]);
    expect(h.fake.ok("answerCallbackQuery").map((c) => c.params.text)).toEqual([
      expect.stringContaining("not allowed"),
      `Approved #${a}`,
      "already decided",
      `Discarded #${d}`,
      "Reply to the question with your notes",
    ]);
    expect(h.fake.messagesIn(OWNER).concat(h.fake.messagesIn(CHAT)).some((m) => m.text === "already decided")).toBe(true);
    for (const [id, shown] of [[a, "✅ Approved"], [d, "🗑 Discarded"], [s, "↩️ Sent back"]] as const) {
      expect(card(id).text).toContain(shown);
      expect(buttonData(card(id).replyMarkup)).toEqual([]);
    }
  });

  it("rides out a 429 and a run of 500s on a reply, and answers a tap it cannot act on with the reason", async () => {
    const h = await harness();
    h.fake.failNext("sendMessage", 1, { status: 429, retryAfter: 1 });
    h.fake.failNext("sendMessage", 2, { status: 500 });
    expect(await ask(h, "/mode idle")).toBe("mode: idle");
    expect(h.fake.calls.filter((c) => c.method === "sendMessage").map((c) => c.status)).toEqual([429, 500, 500, 200]);

    await h.send(tapUpdate("v:a:999:1", { chatId: CHAT, messageId: 1 }, { from: OWNER }));
    await h.send(tapUpdate("x:unknown", { chatId: CHAT, messageId: 1 }, { from: OWNER }));
    await h.settle();
    const answers = h.fake.ok("answerCallbackQuery").map((c) => c.params);
    expect(answers[0]).toMatchObject({ show_alert: true, text: expect.stringContaining("task #999 does not exist") });
    expect(answers[1]).toMatchObject({ text: "This button is no longer understood." });
  });

  it("handles a re-polled update once, also after a restart", async () => {
    const h = await harness();
    const update = { update_id: 77, ...messageUpdate("/task Once #research @scout", { from: OWNER }) };
    await h.send(update);
    await h.settle();
    await h.restart();
    // Telegram sends again what the last getUpdates did not confirm.
    await h.send({ ...update });
    await h.settle();
    expect((await h.ctx.db.query("SELECT id FROM tasks")).length).toBe(1);
    expect(h.fake.messagesIn(OWNER).filter((m) => m.text.startsWith("Queued"))).toHaveLength(1);
  });

  it("handles a burst of 1,000 polled updates exactly once each", async () => {
    const h = await harness();
    const updates = Array.from({ length: 1000 }, (_, i) => ({ update_id: 20_000 + i, ...messageUpdate(`/why ${i + 1}`, { from: OWNER, chat: 2_000_000 + i }) }));
    h.fake.pushUpdates(updates);
    h.fake.pushUpdates(updates.slice(500, 600).map((u) => ({ ...u })));
    await waitUntil(async () => Number((await h.ctx.db.query<{ n: number }>("SELECT count(*) AS n FROM chat_updates"))[0]!.n) === 1000, "1,000 stored updates", 30_000);
    await h.settle();
    const chats = h.fake.ok("sendMessage").map((c) => Number(c.params.chat_id));
    expect(chats).toHaveLength(1000);
    expect(new Set(chats).size).toBe(1000);
  });

  it("sends the digest on the configured cron to TELEGRAM_CHAT_ID, once a day", async () => {
    const h = await harness({ config: { ...CONFIG, digest: { cron: "* * * * * *", timezone: "Europe/Berlin" } } });
    const id = await taskInReview(h.ctx, "Overnight result");
    await h.fake.waitFor(() => h.fake.messagesIn(CHAT).find((m) => m.text.startsWith("☀️ Digest")), 5_000, "the digest");
    // More ticks on the same day add nothing: two more, ten minutes apart on the test's clock.
    for (let tick = 0; tick < 2; tick++) {
      h.clock.advance(10 * 60_000);
      await enqueueDueDigests(h.ctx);
    }
    await h.settle();
    expect(h.fake.messagesIn(CHAT).filter((m) => m.text.startsWith("☀️ Digest"))).toHaveLength(1);
    const cards = h.fake.messagesIn(CHAT).filter((m) => m.text.startsWith(`#${id} `));
    expect(cards).toHaveLength(2); // the card when the result landed, and the digest's
    expect(cards[0]!.text).toMatch(/Approved on its own at \w{3} \d+ \w{3} \d{2}:\d{2} CET/);
  });

  it("refuses a stranger in polling mode too, and pushes a failed attempt", async () => {
    const h = await harness();
    await h.send(messageUpdate("/pause", { from: STRANGER }));
    await h.settle();
    expect(h.fake.messagesIn(STRANGER)[0]!.text).toContain("not allowed");
    expect((await h.ctx.db.query<{ paused: number }>("SELECT paused FROM settings")).map((r) => Number(r.paused))).not.toContain(1);
    const id = await queueTask(h.ctx, { title: "Fails", type: "research", agent: "scout" }, "cli");
    await runPass(h.ctx);
    await reportRun(h.ctx, id, 1, "r1", { kind: "failure", reason: "exit_code", detail: "exit code 3", retryAt: null });
    await h.settle();
    expect(h.fake.messagesIn(CHAT).map((m) => m.text)).toContain(`❌ #${id} Fails failed\nattempt 1: exit code 3; queued again for attempt 2`);
  });
});
