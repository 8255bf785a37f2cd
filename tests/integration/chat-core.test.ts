import { describe, expect, it } from "vitest";
import { handleChat } from "../../src/chat/core.ts";
import type { ChatActor } from "../../src/chat/types.ts";
import { queueTask, recordResult } from "../../src/app/tasks.ts";
import { showTask } from "../../src/app/views.ts";
import { OutboxWorker, type Transport } from "../../src/outbox/outbox.ts";
import { DeliveryError } from "../../src/outbox/outbox.ts";
import { runPass } from "../../resolver/pass.ts";
import type { Notification } from "../../src/chat/types.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { movableClock, tempWorkspace } from "../helpers.ts";
import { cleanupsAfterEach } from "../helpers.ts";

const who: ChatActor = { platform: "telegram", userId: "1", actor: "user:telegram:1" };
const config = { agents: { builder: { command: ["true"] }, writer: { command: ["true"] } }, projects: { site: { repo: "./site" } } };

describe("the chat core and the outbox", () => {
  const cleanups = cleanupsAfterEach();

  async function app(env: Record<string, string> = {}) {
    const ws = tempWorkspace(config);
    cleanups.push(ws.cleanup);
    const clock = movableClock("2026-11-23T22:00:00.000Z");
    const ctx = await openApp({ env: parseEnv({ ...ws.env, ...env }), cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    return { ctx, clock };
  }

  async function inReview(ctx: Awaited<ReturnType<typeof app>>["ctx"]) {
    const id = await queueTask(ctx, { title: "Research MDX", type: "research", agent: "builder", project: null }, "cli");
    await runPass(ctx);
    await recordResult(ctx, id, { markdown: "## Summary\nUse @next/mdx.", exitCode: 0 }, "cli");
    return id;
  }

  it("queues the issue's example task and confirms what it understood; a malformed one queues nothing", async () => {
    const { ctx } = await app();
    await queueTask(ctx, { title: "Blocker", type: "research", agent: "builder" }, "cli");
    const reply = await handleChat(ctx, who, { kind: "message", text: "/task Add MDX blog #code @builder after:1 area:blog" });
    expect(reply).toEqual({
      kind: "text",
      block: { title: "Queued #2: Add MDX blog", lines: ["type code", "agent builder", "project site", "after #1", "area blog"] },
    });
    const bad = await handleChat(ctx, who, { kind: "message", text: "/task #code @nobody" });
    expect(bad).toMatchObject({ kind: "text", block: { title: "Not understood" } });
    const unknownAgent = await handleChat(ctx, who, { kind: "message", text: "/task Thing #code @nobody" });
    expect(unknownAgent).toMatchObject({ kind: "text", block: { title: "Refused", lines: [expect.stringContaining('unknown agent "nobody"')] } });
    expect((await ctx.db.query("SELECT id FROM tasks")).length).toBe(2);
  });

  it("decides from taps: approve once, a double tap and a stale attempt answer already decided", async () => {
    const { ctx } = await app();
    const id = await inReview(ctx);
    const first = await handleChat(ctx, who, { kind: "tap", action: "approve", taskId: id, attempt: 1 });
    expect(first).toMatchObject({ kind: "tap_answer", toast: `Approved #${id}`, card: { decided: { verdict: "approved", by: { actor: who.actor } } } });
    const second = await handleChat(ctx, who, { kind: "tap", action: "discard", taskId: id, attempt: 1 });
    expect(second).toMatchObject({ kind: "tap_answer", toast: "already decided" });
    const verdicts = (await ctx.store.readAll({ limit: 1000 })).filter((e) => e.type === "VerdictRecorded");
    expect(verdicts).toHaveLength(1);
  });

  it("asks for notes on send back and records the reply as the notes; a tap on the earlier attempt cannot decide the next", async () => {
    const { ctx } = await app();
    const id = await inReview(ctx);
    expect(await handleChat(ctx, who, { kind: "tap", action: "send_back", taskId: id, attempt: 1 })).toMatchObject({ kind: "ask_notes", taskId: id, attempt: 1 });
    await handleChat(ctx, who, { kind: "notes", taskId: id, attempt: 1, text: "Use rem, not px 🚀" });
    const view = await showTask(ctx, id);
    expect(view).toMatchObject({ status: "queued", attempt: 2, feedback: { notes: "Use rem, not px 🚀" } });
    await runPass(ctx);
    await recordResult(ctx, id, { markdown: "## Summary\nNow in rem.", exitCode: 0 }, "cli");
    expect(await handleChat(ctx, who, { kind: "tap", action: "approve", taskId: id, attempt: 1 })).toMatchObject({ toast: "already decided" });
    expect((await showTask(ctx, id)).status).toBe("review");
  });

  it("writes notifications in the appending transaction and delivers each once, honouring retry_after", async () => {
    const { ctx, clock } = await app({ TELEGRAM_BOT_TOKEN: "t", TELEGRAM_CHAT_ID: "42" });
    const delivered: Notification[] = [];
    let failures = 1;
    const transport: Transport = {
      platform: "telegram",
      deliver: async (n) => {
        if (failures-- > 0) throw new DeliveryError("Too Many Requests", 30_000);
        delivered.push(n);
        return { posted: n.kind === "review_card" ? [{ ref: `42:${delivered.length}`, taskId: n.card.taskId, attempt: n.card.attempt, kind: "card" as const }] : [] };
      },
    };
    const worker = new OutboxWorker(ctx, [transport]);
    const id = await inReview(ctx);
    expect(await worker.deliverDue()).toBe(0);
    clock.advance(29_000);
    expect(await worker.deliverDue()).toBe(0);
    clock.advance(1_000);
    expect(await worker.deliverDue()).toBe(1);
    expect(delivered.map((n) => n.kind)).toEqual(["review_card"]);
    await handleChat(ctx, who, { kind: "tap", action: "approve", taskId: id, attempt: 1 });
    expect(await worker.deliverDue()).toBe(1);
    expect(await worker.deliverDue()).toBe(0);
    expect(delivered.map((n) => n.kind)).toEqual(["review_card", "card_update"]);
    const rows = await ctx.db.query<{ ref: string }>("SELECT ref FROM chat_messages");
    expect(rows).toEqual([{ ref: "42:1" }]);
  });
});
