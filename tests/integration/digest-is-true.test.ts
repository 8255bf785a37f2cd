import { describe, expect, it } from "vitest";
import { recordVerdict, queueTask } from "../../src/app/tasks.ts";
import { pinTier, clearPin } from "../../src/app/trust.ts";
import { blocksText } from "../fixtures/fake-slack.ts";
import { runCli } from "../helpers.ts";
import { CHAT, startHarness, taskInReview } from "./telegram-kit.ts";
import { CHANNEL, startBothPlatforms } from "./slack-kit.ts";
import { cleanupsAfterEach } from "../helpers.ts";

// Issue #14, item 8: the digest is true. Pins say pinned, discarded tasks are listed, a task appears
// once, the heading has the date, and Telegram, Slack and `cos digest` say the same. POST /cron/tick
// sends it when due, once a day; a digest missed while the server was down is sent when it is back.

const TOKEN = "api-token-0123456789";

describe("the digest", () => {
  const cleanups = cleanupsAfterEach();

  it("is sent by POST /cron/tick at its time, once a day, the same on Telegram, Slack and cos digest", async () => {
    // Long outbox intervals: only /cron/tick delivers in this test.
    const both = await startBothPlatforms({ telegramMode: "polling", env: { COS_API_TOKEN: TOKEN }, outboxIntervalMs: 3_600_000 });
    cleanups.push(both.close);
    const { tgFake, slackFake, ws, clock, ctx, server } = both;
    const tick = async () => {
      const response = await fetch(`http://127.0.0.1:${server.port}/cron/tick`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
      return (await response.json()) as { digests: string[] };
    };

    // The night: one approved, one discarded, a pin set and cleared, a task held by the discarded one.
    const approved = await taskInReview(ctx, "Approved one");
    await recordVerdict(ctx, approved, "approved", null, "cli");
    const discarded = await taskInReview(ctx, "Discarded one", "writer");
    await recordVerdict(ctx, discarded, "discarded", null, "cli");
    const held = await queueTask(ctx, { title: "Held one", type: "research", agent: "builder", blockedBy: [discarded] }, "cli");
    await pinTier(ctx, "scout", "research", "gate", "cli");
    await clearPin(ctx, "scout", "research", "cli");

    // 22:00: the day's 07:30 passed before anything was in the store, so no morning was missed.
    expect((await tick()).digests).toEqual([]);
    clock.set("2026-11-24T07:30:00.000Z");
    expect((await tick()).digests).toEqual(["telegram", "slack"]);
    clock.set("2026-11-24T09:00:00.000Z");
    expect((await tick()).digests).toEqual([]);

    const tgDigests = tgFake.messagesIn(CHAT).filter((m) => m.text.startsWith("☀️ Digest"));
    const slackDigests = slackFake.messagesIn(CHANNEL).filter((m) => m.text.startsWith("☀️ Digest"));
    expect(tgDigests).toHaveLength(1);
    expect(slackDigests).toHaveLength(1);
    const telegramText = tgDigests[0]!.text;
    expect(telegramText.split("\n")[0]).toBe("☀️ Digest for Tue 24 Nov 2026");
    expect(telegramText).toContain(`Done overnight (1)\n#${approved} Approved one [scout · research] (approved by the CLI)`);
    expect(telegramText).toContain(`Discarded or cancelled (1)\n#${discarded} Discarded one [writer · research] (discarded by the CLI)`);
    expect(telegramText).toContain("Trust changes (2)\nscout research: auto → gate: pinned by the CLI\nscout research: gate → auto: pin cleared by the CLI; trust decides again");
    expect(telegramText).not.toMatch(/pinned by the CLI \(approval/);
    // Held, so in "Failed or held" and not again in tonight's queue.
    expect(telegramText.match(new RegExp(`#${held} Held one`, "g"))).toHaveLength(1);
    expect(telegramText).toContain(`Failed or held (1)\n#${held} Held one [builder · research]: held: #${discarded} was discarded; cancel this task (/cancel ${held})`);

    // The same sections and words everywhere (each surface writes its own commands and indents).
    const cli = await runCli(["digest"], { env: { ...ws.env, COS_NOW: "2026-11-24T07:30:00.000Z" }, cwd: ws.dir });
    const words = (text: string) =>
      text
        .replace(/&gt;/g, ">")
        .replace(/\*/g, "")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.includes(`#${held} Held one`));
    expect(words(blocksText(slackDigests[0]!.blocks))).toEqual(words(telegramText));
    expect(words(cli.stdout)).toEqual(words(telegramText));

    clock.set("2026-11-25T07:31:00.000Z");
    expect((await tick()).digests).toEqual(["telegram", "slack"]);
    expect(tgFake.messagesIn(CHAT).filter((m) => m.text.startsWith("☀️ Digest for Wed 25 Nov 2026"))).toHaveLength(1);
  });

  it("is sent when the server comes back after missing its time, once", async () => {
    const h = await startHarness({ mode: "polling" });
    cleanups.push(h.close);
    await taskInReview(h.ctx, "Overnight result");
    await h.settle();
    // Down from 22:00 until 09:00, past the digest's 07:30.
    h.clock.set("2026-11-24T09:00:00.000Z");
    await h.restart();
    await h.settle();
    expect(h.fake.messagesIn(CHAT).filter((m) => m.text.startsWith("☀️ Digest for Tue 24 Nov 2026"))).toHaveLength(1);
    await h.restart();
    await h.settle();
    expect(h.fake.messagesIn(CHAT).filter((m) => m.text.startsWith("☀️ Digest"))).toHaveLength(1);
  });
});
