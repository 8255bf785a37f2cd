import { describe, expect, it } from "vitest";
import { Hono } from "hono";
import { showTask } from "../../src/app/views.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { queueTask, recordResult } from "../../src/app/tasks.ts";
import { runPass } from "../../resolver/pass.ts";
import { reportRun } from "../../src/app/runs.ts";
import { startTelegram } from "../../handlers/telegram/index.ts";
import { messageUpdate, startFakeTelegram, tapUpdate } from "../fixtures/fake-telegram.ts";
import { tempWorkspace } from "../helpers.ts";
import {
  CHAT,
  CONFIG,
  OWNER,
  PUBLIC_URL,
  SECRET,
  STRANGER,
  buttonData,
  cardInReview,
  cardOfTask,
  postUpdate,
  siteRepoWithTaskBranch,
  taskInReview,
  telegramEnv,
  type Harness,
} from "./telegram-kit.ts";
import { chatHarnessesClosedAfterEach } from "./chat-kit.ts";

describe("the Telegram bot behind the webhook", () => {
  const { cleanups, telegramHarness: harness } = chatHarnessesClosedAfterEach("webhook");

  const verdicts = async (h: Harness) =>
    (await h.ctx.store.readAll({ limit: 10_000 })).filter((e) => e.type === "VerdictRecorded").map((e) => e.data as { verdict: string; notes: string | null; attempt: number });

  it("refuses to start in webhook mode without a secret", async () => {
    const fake = await startFakeTelegram();
    cleanups.push(fake.close);
    const ws = tempWorkspace(CONFIG);
    cleanups.push(ws.cleanup);
    const env = { ...ws.env, ...telegramEnv(fake, "webhook") };
    delete (env as Record<string, string>).TELEGRAM_WEBHOOK_SECRET;
    const ctx = await openApp({ env: parseEnv(env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    await expect(startTelegram(ctx, new Hono(), () => {})).rejects.toThrow(/TELEGRAM_WEBHOOK_SECRET/);
    expect(fake.calls.map((c) => c.method)).not.toContain("setWebhook");
  });

  it("refuses to start with a token Telegram does not know, saying which variable to check", async () => {
    const fake = await startFakeTelegram();
    cleanups.push(fake.close);
    const ws = tempWorkspace(CONFIG);
    cleanups.push(ws.cleanup);
    const env = { ...ws.env, ...telegramEnv(fake, "polling"), TELEGRAM_BOT_TOKEN: "999:not-the-token" };
    const ctx = await openApp({ env: parseEnv(env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    await expect(startTelegram(ctx, new Hono(), () => {})).rejects.toThrow(/getMe: 401 Unauthorized.*TELEGRAM_BOT_TOKEN/);
  });

  it("registers the commands and the webhook with its secret at start", async () => {
    const h = await harness();
    expect(h.fake.webhook).toEqual({ url: `${PUBLIC_URL}/telegram/webhook`, secret: SECRET });
    const commands = h.fake.ok("setMyCommands")[0]!.params.commands as { command: string; description: string }[];
    expect(commands.map((c) => c.command)).toEqual(
      expect.arrayContaining(["task", "review", "status", "queue", "why", "trust", "mode", "pause", "resume", "digest", "tier", "cancel", "retry", "sendback", "diff", "help"]),
    );
    // Telegram takes 1 to 256 characters of description.
    for (const c of commands) expect(c.description.length, c.command).toBeGreaterThan(0);
    expect(commands.find((c) => c.command === "why")!.description).toBe("why a task is not running: /why 42");
  });

  it("answers 401 to a wrong or missing secret and neither stores nor handles the update", async () => {
    const h = await harness();
    const update = { update_id: 900, ...messageUpdate("/task Sneaky #research @scout", { from: OWNER }) };
    for (const secret of [null, "", "wrong", `${SECRET}x`, SECRET.slice(0, -1)]) {
      const response = await postUpdate(h.server!.port, update, secret);
      expect(response.status).toBe(401);
    }
    await h.settle();
    expect(await h.ctx.db.query("SELECT * FROM chat_updates")).toEqual([]);
    expect(await h.ctx.db.query("SELECT * FROM tasks")).toEqual([]);
    expect(h.fake.ok("sendMessage")).toEqual([]);
  });

  it("queues exactly the issue's example task and says so; a malformed one queues nothing and explains", async () => {
    const h = await harness();
    await queueTask(h.ctx, { title: "Blog engine", type: "research", agent: "scout" }, "cli");
    for (let i = 2; i <= 12; i++) await queueTask(h.ctx, { title: `Filler ${i}`, type: "research", agent: "scout" }, "cli");
    await h.send(messageUpdate("/task Add MDX blog #code @builder after:12 area:blog", { from: OWNER }));
    await h.settle();
    const task = await showTask(h.ctx, 13);
    expect(task).toMatchObject({ title: "Add MDX blog", type: "code", agent: "builder", blockedBy: [12], area: "blog", status: "queued" });
    const reply = h.fake.messagesIn(OWNER).at(-1)!;
    expect(reply.text).toBe("Queued #13: Add MDX blog\ntype code\nagent builder\nproject site\nafter #12\narea blog");

    await h.send(messageUpdate("/task #code @builder after:x", { from: OWNER }));
    await h.settle();
    expect((await h.ctx.db.query("SELECT id FROM tasks")).length).toBe(13);
    const explained = h.fake.messagesIn(OWNER).at(-1)!.text;
    expect(explained).toContain("Not understood");
    expect(explained).toContain("after:x must list task ids");
    expect(explained).toContain("the task needs a title");
  });

  it("sends a review card when a result lands, with its buttons, and approve edits it to show the verdict; a double tap records one", async () => {
    const h = await harness();
    const { id, card } = await cardInReview(h, "Compare <MDX> & Markdown");
    expect(card.text).toContain(`#${id} Compare <MDX> & Markdown`);
    expect(card.text).toContain("scout · research · tier auto");
    expect(card.text).toContain("Approved on its own at");
    expect(buttonData(card.replyMarkup)).toEqual([`v:a:${id}:1`, `v:s:${id}:1`, `v:d:${id}:1`]);

    await h.send(tapUpdate(`v:a:${id}:1`, { chatId: CHAT, messageId: card.messageId }, { from: OWNER }));
    await h.send(tapUpdate(`v:a:${id}:1`, { chatId: CHAT, messageId: card.messageId }, { from: OWNER }));
    await h.settle();
    expect(await verdicts(h)).toEqual([expect.objectContaining({ verdict: "approved", attempt: 1 })]);
    const toasts = h.fake.ok("answerCallbackQuery").map((c) => c.params.text);
    expect(toasts).toEqual([`Approved #${id}`, "already decided"]);
    const after = h.fake.message(CHAT, card.messageId)!;
    expect(after.text).toContain(`✅ Approved by User${OWNER}`);
    expect(buttonData(after.replyMarkup)).toEqual([]);
    // The tap edited the card and the outbox's card_update found it already showing the verdict.
    expect(h.fake.messagesIn(CHAT).filter((m) => m.text.startsWith(`#${id} `))).toHaveLength(1);
  });

  it("puts the review page's button on a card (a link in a group chat) and sends the patch as a file on /diff", async () => {
    const h = await harness();
    const id = await queueTask(h.ctx, { title: "Add MDX blog", type: "code", agent: "builder" }, "cli");
    siteRepoWithTaskBranch(h.ws.dir, id, "blog.mdx", "# Blog ✨ <b>&\n");
    await runPass(h.ctx);
    await reportRun(h.ctx, id, 1, "runner-1", {
      kind: "result",
      markdown: "## Summary\nBlog added.",
      exitCode: 0,
      durationMs: 1000,
      diffStat: { files: 1, insertions: 1, deletions: 0 },
      usage: null,
    });
    await h.settle();
    const card = cardOfTask(h.fake, id)!;
    const rows = (card.replyMarkup as { inline_keyboard: { text: string; url?: string; web_app?: unknown }[][] }).inline_keyboard;
    const button = rows[1]![0]!;
    expect(button).toEqual({ text: "🔍 Review page", url: expect.stringMatching(new RegExp(`^${PUBLIC_URL}/pages/task/${id}\\?k=t${id}\\.\\d+\\.[\\w-]{32}$`)) });
    expect(card.text).toContain("diff: 1 file, +1 −0");
    // The link opens the task's page in a browser, and no other task's.
    const local = button.url!.replace(PUBLIC_URL, `http://127.0.0.1:${h.server!.port}`);
    const opened = await fetch(local);
    expect(opened.status).toBe(200);
    const page = await opened.text();
    expect(page).toContain('data-path="blog.mdx"');
    expect(page).toContain("# Blog ✨ ");
    expect(page).not.toContain("<b>&");
    expect((await fetch(local.replace(`/task/${id}?`, `/task/${id + 1}?`))).status).toBe(403);

    await h.send(messageUpdate(`/diff ${id}`, { from: OWNER }));
    await h.settle();
    const doc = h.fake.messagesIn(OWNER).find((m) => m.document)!;
    expect(doc.document!.name).toBe(`task-${id}.patch`);
    expect(doc.document!.content).toContain("+# Blog ✨ <b>&");
    expect(doc.document!.caption).toContain(`#${id}`);
  });

  it("opens review pages as a Mini App in a private chat: the card's page, and the review queue under /review and the digest", async () => {
    const h = await harness({ env: { TELEGRAM_CHAT_ID: String(OWNER) } });
    const id = await taskInReview(h.ctx);
    await h.settle();
    const card = h.fake.messagesIn(OWNER).find((m) => m.text.startsWith(`#${id} `))!;
    const rows = (card.replyMarkup as { inline_keyboard: { text: string; web_app?: { url: string } }[][] }).inline_keyboard;
    expect(rows[1]).toEqual([{ text: "🔍 Review page", web_app: { url: expect.stringMatching(new RegExp(`^${PUBLIC_URL}/pages/task/${id}\\?k=t${id}\\.`)) } }]);
    await h.send(messageUpdate("/review", { from: OWNER }));
    await h.send(messageUpdate("/digest", { from: OWNER }));
    await h.settle();
    const queueButtons = h.fake
      .messagesIn(OWNER)
      .flatMap((m) => (m.replyMarkup as { inline_keyboard?: { text: string; web_app?: { url: string } }[][] } | null)?.inline_keyboard?.flat() ?? [])
      .filter((b) => b.text === "🗂 Review queue");
    expect(queueButtons).toHaveLength(2);
    for (const b of queueButtons) expect(b.web_app!.url).toMatch(new RegExp(`^${PUBLIC_URL}/pages/review\\?k=q\\.`));
  });

  it("sends back through the force-reply, taking the reply as the notes, and /sendback does it in one message", async () => {
    const h = await harness();
    const { id, card } = await cardInReview(h);
    await h.send(tapUpdate(`v:s:${id}:1`, { chatId: CHAT, messageId: card.messageId }, { from: OWNER }));
    await h.settle();
    expect(await verdicts(h)).toEqual([]);
    const question = h.fake.ok("sendMessage").at(-1)!;
    expect(question.params.reply_markup).toMatchObject({ force_reply: true });
    const asked = h.fake.messagesIn(CHAT).at(-1)!;
    expect(asked.text).toContain(`Notes for #${id}`);

    const notes = "Use <rem> & not px_*[]()~`>#+-=|{}.! 🚀 — thanks";
    await h.send(messageUpdate(notes, { from: OWNER, chat: CHAT, replyTo: asked.messageId }));
    await h.settle();
    expect(await verdicts(h)).toEqual([expect.objectContaining({ verdict: "sent_back", notes, attempt: 1 })]);
    expect((await showTask(h.ctx, id)).status).toBe("queued");
    const edited = h.fake.message(CHAT, card.messageId)!;
    expect(edited.text).toContain(`↩️ Sent back by User${OWNER}: ${notes}`);
    expect(buttonData(edited.replyMarkup)).toEqual([]);

    // Attempt 2 lands; /sendback decides it in one message.
    await runPass(h.ctx);
    await recordResult(h.ctx, id, { markdown: "## Summary\nNow in rem.", exitCode: 0 }, "cli");
    await h.send(messageUpdate(`/sendback ${id} Still px in the footer.\nAnd the header.`, { from: OWNER }));
    await h.settle();
    expect((await verdicts(h)).at(-1)).toMatchObject({ verdict: "sent_back", notes: "Still px in the footer.\nAnd the header.", attempt: 2 });
  });

  it("does not let a tap on an earlier attempt's card decide the later attempt", async () => {
    const h = await harness();
    const { id, card: first } = await cardInReview(h);
    await h.send(messageUpdate(`/sendback ${id} again please`, { from: OWNER }));
    await runPass(h.ctx);
    await recordResult(h.ctx, id, { markdown: "## Summary\nSecond try.", exitCode: 0 }, "cli");
    await h.settle();
    const cards = h.fake.messagesIn(CHAT).filter((m) => m.text.startsWith(`#${id} `));
    expect(cards).toHaveLength(2);
    expect(buttonData(cards[1]!.replyMarkup)).toEqual([`v:a:${id}:2`, `v:s:${id}:2`, `v:d:${id}:2`]);

    await h.send(tapUpdate(`v:a:${id}:1`, { chatId: CHAT, messageId: first.messageId }, { from: OWNER }));
    await h.send(tapUpdate(`v:d:${id}:1`, { chatId: CHAT, messageId: first.messageId }, { from: OWNER }));
    await h.settle();
    expect((await showTask(h.ctx, id)).status).toBe("review");
    expect((await verdicts(h)).map((v) => v.attempt)).toEqual([1]);
    expect(h.fake.ok("answerCallbackQuery").map((c) => c.params.text)).toEqual(["already decided", "already decided"]);

    await h.send(tapUpdate(`v:d:${id}:2`, { chatId: CHAT, messageId: cards[1]!.messageId }, { from: OWNER }));
    await h.settle();
    expect((await verdicts(h)).at(-1)).toMatchObject({ verdict: "discarded", attempt: 2 });
    expect(h.fake.message(CHAT, cards[1]!.messageId)!.text).toContain("🗑 Discarded by");
  });

  it("refuses a stranger's message and tap, logs them, and records nothing", async () => {
    const h = await harness();
    const { id, card } = await cardInReview(h);
    const before = (await h.ctx.store.readAll({ limit: 10_000 })).length;
    await h.send(messageUpdate("/task Mine now #research @scout", { from: STRANGER }));
    await h.send(tapUpdate(`v:a:${id}:1`, { chatId: CHAT, messageId: card.messageId }, { from: STRANGER }));
    await h.send(messageUpdate("/pause", { from: STRANGER, chat: CHAT }));
    await h.settle();
    expect((await h.ctx.store.readAll({ limit: 10_000 })).length).toBe(before);
    expect((await showTask(h.ctx, id)).status).toBe("review");
    expect(h.fake.messagesIn(STRANGER).at(-1)!.text).toContain("not allowed");
    expect(h.fake.ok("answerCallbackQuery")[0]!.params).toMatchObject({ show_alert: true, text: expect.stringContaining("not allowed") });
    expect(buttonData(h.fake.message(CHAT, card.messageId)!.replyMarkup)).toHaveLength(3);
    expect(h.logs.filter((l) => l.includes(`refused user ${STRANGER}`))).toHaveLength(3);
  });

  it("handles each update once: a retried update_id, and again after a restart; rows left unhandled are handled on start", async () => {
    const h = await harness();
    const update = { update_id: 5000, ...messageUpdate("/task Once only #research @scout", { from: OWNER }) };
    expect((await postUpdate(h.server!.port, update, SECRET)).status).toBe(200);
    expect((await postUpdate(h.server!.port, update, SECRET)).status).toBe(200);
    await h.settle();
    await h.restart();
    expect((await postUpdate(h.server!.port, update, SECRET)).status).toBe(200);
    await h.settle();
    expect((await h.ctx.db.query("SELECT id FROM tasks")).length).toBe(1);

    // An update stored by a process that died before handling it.
    await h.telegram.stop();
    await h.ctx.db.write((tx) =>
      tx.execute({
        sql: "INSERT INTO chat_updates (platform, update_id, payload, received_at) VALUES ('telegram', '5001', ?, ?)",
        args: [JSON.stringify({ update_id: 5001, ...messageUpdate("/task Left behind #research @scout", { from: OWNER }) }), h.clock.iso()],
      }),
    );
    await h.restart();
    await h.settle();
    expect((await h.ctx.db.query<{ title: string }>("SELECT title FROM tasks ORDER BY id")).map((t) => t.title)).toEqual(["Once only", "Left behind"]);
    expect(h.fake.messagesIn(OWNER).filter((m) => m.text.startsWith("Queued #"))).toHaveLength(2);
  });

  it("handles a burst of 1,000 updates, 50 at a time and some sent twice, exactly once each", async () => {
    const h = await harness();
    const base = 10_000;
    const updates = Array.from({ length: 1000 }, (_, i) => ({ update_id: base + i, ...messageUpdate(`/why ${i + 1}`, { from: OWNER, chat: 1_000_000 + i }) }));
    const queue = [...updates, ...updates.slice(0, 100)];
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let u = queue.shift(); u; u = queue.shift()) statuses.push((await postUpdate(h.server!.port, u, SECRET)).status);
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1100);
    await h.settle();
    const handled = await h.ctx.db.query<{ n: number }>("SELECT count(*) AS n FROM chat_updates WHERE handled_at IS NOT NULL");
    expect(Number(handled[0]!.n)).toBe(1000);
    const replies = h.fake.ok("sendMessage").map((c) => Number(c.params.chat_id));
    expect(replies).toHaveLength(1000);
    expect(new Set(replies).size).toBe(1000);
    expect(h.fake.messagesIn(1_000_000 + 41)[0]!.text).toContain("task #42 does not exist");
  });
});
