import { describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { slackSignature } from "../../handlers/slack/receiver.ts";
import { startFakeTelegram } from "../fixtures/fake-telegram.ts";
import { blocksText, buttonIds, startFakeSlack } from "../fixtures/fake-slack.ts";
import { movableClock, tempWorkspace } from "../helpers.ts";
import { CHAT, CONFIG, taskInReview, telegramEnv, waitUntil } from "./telegram-kit.ts";
import { SIGNING_SECRET, slackCard, slackEnv, slash } from "./slack-kit.ts";
import { serveInChild } from "./chat-kit.ts";
import { cleanupsAfterEach } from "../helpers.ts";

const T0 = "2026-11-23T22:00:00.000Z";

describe("cos serve with Telegram and Slack configured together", () => {
  const cleanups = cleanupsAfterEach();

  it("serves both from one process: cards go to both, and a signed /cos command is handled", async () => {
    const tgFake = await startFakeTelegram();
    cleanups.push(tgFake.close);
    const slackFake = await startFakeSlack();
    cleanups.push(slackFake.close);
    const ws = tempWorkspace({ ...CONFIG, runner: { slots: 0 } });
    cleanups.push(ws.cleanup);
    const env = { ...ws.env, ...telegramEnv(tgFake, "polling"), ...slackEnv(slackFake), COS_PORT: "0", COS_HOST: "127.0.0.1", COS_NOW: T0 };
    const ctx = await openApp({ env: parseEnv(env), cwd: ws.dir, clock: movableClock(T0).now, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    const id = await taskInReview(ctx, "Both platforms");

    const { child, output, exited, failWithOutput: fail } = serveInChild(env, cleanups);
    await waitUntil(() => /listening on http:\/\/[^:]+:\d+/.test(output()), "cos serve to listen", 20_000).catch(fail);
    const port = Number(/listening on http:\/\/[^:]+:(\d+)/.exec(output())![1]);

    await waitUntil(() => Boolean(slackCard(slackFake, id) && tgFake.messagesIn(CHAT).some((m) => m.text.startsWith(`#${id} `))), "both cards", 20_000).catch(fail);
    expect(buttonIds(slackCard(slackFake, id)!.blocks)).toHaveLength(3);

    const request = slash("status");
    const ts = String(Math.floor(Date.parse(T0) / 1000));
    const response = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      method: "POST",
      headers: { "content-type": request.contentType, "x-slack-request-timestamp": ts, "x-slack-signature": slackSignature(SIGNING_SECRET, ts, request.body) },
      body: request.body,
    });
    expect(response.status).toBe(200);
    // A slash command's answer is the asker's own: ephemeral.
    await waitUntil(() => slackFake.ok("chat.postEphemeral").some((c) => blocksText(c.params.blocks as never).startsWith("*Status*")), "the /cos status reply", 20_000).catch(fail);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
