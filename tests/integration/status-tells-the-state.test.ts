import { describe, expect, it } from "vitest";
import { runPass } from "../../resolver/pass.ts";
import { claimRuns } from "../../src/app/runs.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { blocksText } from "../fixtures/fake-slack.ts";
import { tapUpdate } from "../fixtures/fake-telegram.ts";
import { runCli } from "../helpers.ts";
import { CHAT, OWNER, cardInReview, askAsOwner } from "./telegram-kit.ts";
import { OWNER as SLACK_OWNER, slackCard, slackCardInReview, slash, tap } from "./slack-kit.ts";
import { chatHarnessesClosedAfterEach } from "./chat-kit.ts";

// Issue #14, item 6: status tells the state (paused or not and why, the mode, what runs and for how
// long, what waits and the first reason, the next digest); /mode alone shows the mode; cards and
// digests name people, not user:telegram:42.

describe("status and the people in it", () => {
  const { telegramHarness, slackHarness } = chatHarnessesClosedAfterEach();

  const ask = askAsOwner;

  it("/status says paused, by whom and since when, what runs and for how long, what waits and why, and the next digest", async () => {
    const h = await telegramHarness();
    const running = await queueTask(h.ctx, { title: "Long research", type: "research", agent: "scout" }, "cli");
    const waiting = await queueTask(h.ctx, { title: "After it", type: "research", agent: "writer", blockedBy: [running] }, "cli");
    await runPass(h.ctx);
    await claimRuns(h.ctx, { runner: "night-runner", slots: 1 });
    h.clock.advance(12 * 60_000);
    expect(await ask(h, "/pause")).toBe("paused: nothing new is dispatched until /resume");
    h.clock.advance(60_000);

    const status = await ask(h, "/status");
    expect(status).toBe(
      [
        "Status: paused",
        "⏸ Paused by User111 since Mon 23 Nov 22:12 UTC. Nothing new is dispatched until /resume.",
        "Mode: sprint (an agent waits 10 min after finishing a task before the next of the same goal).",
        "Running (1):",
        `  #${running} Long research [scout], attempt 1 on night-runner, for 13 min`,
        "In review: 0.",
        "Queued (1):",
        `  #${waiting} After it [writer]: waiting for #${running} (running)`,
        "Next digest: Tue 24 Nov 07:30 UTC.",
      ].join("\n"),
    );
    expect(await ask(h, "/mode")).toBe(
      "mode: sprint (an agent waits 10 min after finishing a task before the next of the same goal)\n/mode idle switches to idle (60 min)",
    );

    const cli = await runCli(["status"], { env: { ...h.ws.env, COS_NOW: h.clock.iso() }, cwd: h.ws.dir });
    expect(cli.stdout).toContain("⏸ Paused by User111 since Mon 23 Nov 22:12 UTC. Nothing new is dispatched until cos resume.");
    expect(cli.stdout).toContain(`  #${running} Long research [scout], attempt 1 on night-runner, for 13 min`);
    const json = JSON.parse((await runCli(["status", "--json"], { env: { ...h.ws.env, COS_NOW: h.clock.iso() }, cwd: h.ws.dir })).stdout);
    expect(json).toMatchObject({ paused: { by: { actor: `user:telegram:${OWNER}`, name: `User${OWNER}` } }, mode: "sprint", nextDigest: "2026-11-24T07:30:00.000Z" });
  });

  it("names the person on cards and in the digest: a Telegram first name, a Slack mention", async () => {
    const h = await telegramHarness();
    const { id, card } = await cardInReview(h);
    await h.send(tapUpdate(`v:a:${id}:1`, { chatId: CHAT, messageId: card.messageId }, { from: OWNER }));
    await h.settle();
    expect(h.fake.message(CHAT, card.messageId)!.text).toContain(`✅ Approved by User${OWNER}`);
    expect(h.fake.message(CHAT, card.messageId)!.text).not.toContain("user:telegram");
    expect(await ask(h, "/digest")).toContain(`#${id} Research MDX [scout · research] (approved by User${OWNER})`);

    const s = await slackHarness();
    const { id: other, card: otherCard } = await slackCardInReview(s);
    await s.send(tap(`v:d:${other}:1`, otherCard));
    await s.settle();
    expect(blocksText(slackCard(s.fake, other)!.blocks)).toContain(`🗑 Discarded by <@${SLACK_OWNER}>`);
    await s.send(slash("digest"));
    await s.settle();
    // The digest posts its cards for the channel, so it is posted, not ephemeral.
    const digest = s.fake.ok("chat.postMessage").map((c) => blocksText(c.params.blocks as never)).find((t) => t.includes("Digest for"));
    expect(digest).toContain(`(discarded by <@${SLACK_OWNER}>)`);
  });
});
