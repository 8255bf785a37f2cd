import { describe, expect, it } from "vitest";
import { Api } from "grammy";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { reportRun } from "../../src/app/runs.ts";
import { cancelTask, queueTask, recordVerdict } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { OutboxWorker } from "../../src/outbox/outbox.ts";
import { runPass } from "../../resolver/pass.ts";
import { telegramTransport } from "../../handlers/telegram/transport.ts";
import { enqueueDueDigests } from "../../src/outbox/digest.ts";
import { MESSAGE_LIMIT } from "../../handlers/telegram/render.ts";
import { startFakeTelegram, type FakeTelegram } from "../fixtures/fake-telegram.ts";
import { movableClock, tempWorkspace, type MovableClock } from "../helpers.ts";
import { CHAT, CONFIG, buttonData, cardOfTask, taskInReview, telegramEnv } from "./telegram-kit.ts";
import { cleanupsAfterEach } from "../helpers.ts";

const SPECIAL = `Fix <b>bold</b> & "quotes" _*[]()~\`>#+-=|{}.!<& 🚀👩‍💻 ünïcödé`;

describe("Telegram notifications through the outbox", () => {
  const cleanups = cleanupsAfterEach();

  async function setup(): Promise<{ ctx: AppContext; fake: FakeTelegram; clock: MovableClock; worker: OutboxWorker; logs: string[]; drain(): Promise<number> }> {
    const fake = await startFakeTelegram();
    cleanups.push(fake.close);
    const ws = tempWorkspace(CONFIG);
    cleanups.push(ws.cleanup);
    const clock = movableClock("2026-11-23T22:00:00.000Z");
    const ctx = await openApp({ env: parseEnv({ ...ws.env, ...telegramEnv(fake, "polling") }), cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    const logs: string[] = [];
    const api = new Api(fake.token, { apiRoot: fake.apiRoot });
    const worker = new OutboxWorker(ctx, [telegramTransport(api, { chatId: String(CHAT), timezone: "UTC", sleep: async () => {} })], (l) => logs.push(l));
    const drain = async () => {
      let total = 0;
      for (let n = await worker.deliverDue(); n > 0; n = await worker.deliverDue()) total += n;
      return total;
    };
    return { ctx, fake, clock, worker, logs, drain };
  }

  const undelivered = async (ctx: AppContext) =>
    Number((await ctx.db.query<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL"))[0]!.n);

  it("waits out a 429 exactly as long as retry_after says, then delivers once", async () => {
    const { ctx, fake, clock, worker, logs } = await setup();
    fake.failNext("sendMessage", 1, { status: 429, retryAfter: 7 });
    const id = await taskInReview(ctx);
    expect(await worker.deliverDue()).toBe(0);
    expect(logs.at(-1)).toMatch(/429 Too Many Requests: retry after 7; retry in 7 s/);
    clock.advance(6_900);
    expect(await worker.deliverDue()).toBe(0);
    expect(fake.calls.filter((c) => c.method === "sendMessage")).toHaveLength(1);
    clock.advance(100);
    expect(await worker.deliverDue()).toBe(1);
    expect(await worker.deliverDue()).toBe(0);
    expect(fake.messagesIn(CHAT).filter((m) => m.text.startsWith(`#${id} `))).toHaveLength(1);
  });

  it("backs off through a run of 500s and of network failures, then delivers each notification once and in order", async () => {
    const { ctx, fake, clock, drain } = await setup();
    fake.failNext("sendMessage", 5, { status: 500 });
    const first = await taskInReview(ctx, "First");
    const second = await taskInReview(ctx, "Second", "writer");
    // The verdict's card update is due at once but must not overtake the card it edits.
    await recordVerdict(ctx, first, "approved", null, "user:telegram:111");
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      expect(await drain()).toBe(0);
      const next = (await ctx.db.query<{ next_attempt_at: string }>("SELECT next_attempt_at FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT 1"))[0]!;
      waits.push(Date.parse(next.next_attempt_at) - clock.now().getTime());
      clock.set(next.next_attempt_at);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(fake.calls.filter((c) => c.method === "editMessageText")).toHaveLength(0);
    expect(await drain()).toBe(3);
    expect(await undelivered(ctx)).toBe(0);
    const cards = fake.messagesIn(CHAT);
    expect(cards.map((m) => m.text.split("\n")[0])).toEqual([`#${first} First`, `#${second} Second`]);
    expect(cards[0]!.text).toContain("✅ Approved by Telegram user 111");
    expect(buttonData(cards[0]!.replyMarkup)).toEqual([]);
    expect(buttonData(cards[1]!.replyMarkup)).toHaveLength(3);

    // The API goes away altogether for a while (connection refused), and comes back.
    await fake.close();
    const third = await taskInReview(ctx, "Third");
    expect(await drain()).toBe(0);
    expect(await undelivered(ctx)).toBe(1);
    const back = await startFakeTelegram(fake.token);
    cleanups.push(back.close);
    const api = new Api(back.token, { apiRoot: back.apiRoot });
    const worker = new OutboxWorker(ctx, [telegramTransport(api, { chatId: String(CHAT), timezone: "UTC" })]);
    clock.advance(60_000);
    expect(await worker.deliverDue()).toBe(1);
    expect(back.messagesIn(CHAT).map((m) => m.text.split("\n")[0])).toEqual([`#${third} Third`]);
  });

  it("splits a long notification at 4,096 characters on line boundaries, and retries a later part without resending the first", async () => {
    const { ctx, fake, drain } = await setup();
    const id = await queueTask(ctx, { title: SPECIAL, type: "research", agent: "scout" }, "cli");
    await runPass(ctx);
    const lines = Array.from({ length: 150 }, (_, i) => `line ${String(i).padStart(3, "0")} <tag> & ${"x".repeat(50)} 🚀`);
    await reportRun(ctx, id, 1, "r1", { kind: "failure", reason: "exit_code", detail: lines.join("\n"), retryAt: null });
    // The first part goes through, the second meets a 429 and is retried in place.
    fake.failNext("sendMessage", 1, { status: 429, retryAfter: 1 }, { skip: 1 });
    expect(await drain()).toBe(1);
    const sends = fake.calls.filter((c) => c.method === "sendMessage");
    const parts = fake.messagesIn(CHAT);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const p of parts) expect(p.text.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(parts.map((p) => p.text).join("\n")).toBe([`❌ #${id} ${SPECIAL} failed`, `attempt 1: ${lines[0]}`, ...lines.slice(1, -1), `${lines.at(-1)}; queued again for attempt 2`].join("\n"));
    expect(sends.map((c) => c.status)).toEqual([200, 429, ...parts.slice(1).map(() => 200)]);
    expect(await undelivered(ctx)).toBe(0);
  });

  it("renders titles, notes and numbers with any characters and emoji as they were written", async () => {
    const { ctx, fake, drain } = await setup();
    const id = await taskInReview(ctx, SPECIAL);
    await drain();
    const card = cardOfTask(fake, id)!;
    expect(card.text.split("\n")[0]).toBe(`#${id} ${SPECIAL}`);
    expect(card.text).toContain(`Findings for ${SPECIAL}.`);
    const notes = `Not like this: <script>alert("x")</script> & ${SPECIAL}\nsecond line ✅`;
    await recordVerdict(ctx, id, "sent_back", notes, "user:telegram:111");
    await drain();
    expect(fake.message(CHAT, card.messageId)!.text).toContain(`↩️ Sent back by Telegram user 111: ${notes}`);
  });

  it("pushes trust changes with their numbers, failures, and tasks held because a blocker was discarded", async () => {
    const { ctx, fake, drain } = await setup();
    const pattern = ["approved", "approved", "sent_back", "approved", "sent_back", "approved", "sent_back", "approved", "approved", "sent_back"] as const;
    for (const verdict of pattern) {
      const id = await taskInReview(ctx, `Research ${verdict}`);
      await recordVerdict(ctx, id, verdict, verdict === "sent_back" ? "again" : null, "user:telegram:111");
      if (verdict === "sent_back") await cancelTask(ctx, id, "keep the agent free", "cli");
    }
    const blocker = await taskInReview(ctx, "Blocker");
    const held = await queueTask(ctx, { title: "Waits on the blocker", type: "research", agent: "writer", blockedBy: [blocker] }, "cli");
    await recordVerdict(ctx, blocker, "discarded", null, "user:telegram:111");
    const failing = await queueTask(ctx, { title: "Will fail", type: "content", agent: "builder" }, "cli");
    await runPass(ctx);
    await reportRun(ctx, failing, 1, "r1", { kind: "failure", reason: "timeout", detail: "timed out after 60 min", retryAt: null });
    await drain();
    const texts = fake.messagesIn(CHAT).map((m) => m.text);
    expect(texts).toContain("⚖️ Tier change: scout research\nauto → quick by trust (approval: 60%, sendBack: 40%, n=10)");
    expect(texts).toContain(`⏸ #${held} Waits on the blocker is held\nits blocker #${blocker} was discarded: cancel this task (/cancel ${held}) or change its blockers (/after ${held} none, or /after ${held} 12,13 to wait for others)`);
    expect(texts).toContain(`❌ #${failing} Will fail failed\nattempt 1: timed out after 60 min; queued again for attempt 2`);
  });

  it("tells a usage limit once, when it begins, not at every re-queue while it lasts", async () => {
    const { ctx, fake, clock, drain } = await setup();
    const id = await queueTask(ctx, { title: "Waits for the API", type: "research", agent: "scout" }, "cli");
    for (let i = 0; i < 3; i++) {
      expect((await runPass(ctx)).dispatched.map((d) => d.taskId)).toEqual([id]);
      await reportRun(ctx, id, 1, "r1", { kind: "failure", reason: "usage_limit", detail: "usage limit: You've hit your limit", retryAt: null });
      clock.advance(31 * 60_000);
    }
    await drain();
    const texts = fake.messagesIn(CHAT).map((m) => m.text);
    expect(texts.filter((t) => t.includes(`#${id} Waits for the API`))).toEqual([
      `❌ #${id} Waits for the API waits for a usage limit\nusage limit: You've hit your limit; tried again after 2026-11-23T22:01:00.000Z, no attempt spent`,
    ]);
  });

  it("enqueues the digest once a day, with the review queue as cards", async () => {
    const { ctx, fake, clock, drain } = await setup();
    const waiting = await taskInReview(ctx, "Waiting for you");
    await drain();
    const before = fake.messagesIn(CHAT).length;
    clock.set("2026-11-24T07:30:00.000Z"); // the digest's time (30 7 * * * UTC)
    expect(await enqueueDueDigests(ctx)).toEqual(["telegram"]);
    clock.advance(3600_000); // 08:30 UTC, the same day in the digest's timezone
    expect(await enqueueDueDigests(ctx)).toEqual([]);
    await drain();
    const sent = fake.messagesIn(CHAT).slice(before);
    expect(sent[0]!.text).toMatch(/^☀️ Digest for Tue 24 Nov 2026\n\nDone overnight \(0\)/);
    for (const section of ["Waiting for your review (1)", "Failed or held (0)", "Discarded or cancelled (0)", "Trust changes (0)", "Auto-approved, worth a spot-check (0)", "Tonight's queue (0)"]) {
      expect(sent[0]!.text).toContain(section);
    }
    expect(sent[1]!.text.split("\n")[0]).toBe(`#${waiting} Waiting for you`);
    expect(buttonData(sent[1]!.replyMarkup)).toEqual([`v:a:${waiting}:1`, `v:s:${waiting}:1`, `v:d:${waiting}:1`]);
    clock.advance(24 * 3600_000);
    expect(await enqueueDueDigests(ctx)).toEqual(["telegram"]);
    await drain();
    expect(fake.messagesIn(CHAT).filter((m) => m.text.startsWith("☀️ Digest"))).toHaveLength(2);
  });
});
