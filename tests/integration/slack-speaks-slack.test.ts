import { describe, expect, it } from "vitest";
import { STALE_BUTTON } from "../../src/chat/chat-text.ts";
import { blocksText } from "../fixtures/fake-slack.ts";
import { messageUpdate } from "../fixtures/fake-telegram.ts";
import { OWNER as TG_OWNER, taskInReview } from "./telegram-kit.ts";
import { CHANNEL, DM, OWNER, event, slackCardInReview, slash, tap, type SlackHarness } from "./slack-kit.ts";
import { chatHarnessesClosedAfterEach } from "./chat-kit.ts";

// Issue #14, item 5: Slack speaks Slack. Help shows /cos verbs; a slash command's answer is the asker's
// own (ephemeral) unless it posts cards; an unknown verb suggests the nearest; free text that is not a
// verb gets help. Telegram alike: free text is not a command name.

describe("Slack speaks Slack", () => {
  const { telegramHarness, slackHarness: harness } = chatHarnessesClosedAfterEach();
  const lastEphemeral = (h: SlackHarness) => blocksText(h.fake.ok("chat.postEphemeral").at(-1)!.params.blocks as never);
  const posted = (h: SlackHarness) => h.fake.ok("chat.postMessage").length;

  it("/cos help lists /cos verbs (not Telegram's), the configured agents and the types, for the asker only", async () => {
    const h = await harness();
    const before = posted(h);
    await h.send(slash("help"));
    await h.settle();
    const help = lastEphemeral(h);
    expect(help).toContain("/cos task &lt;title&gt; #type @agent");
    expect(help).toContain("/cos status: paused or not");
    expect(help).not.toMatch(/^\/status/m);
    expect(help).toContain("Agents: @builder, @writer, @scout");
    expect(help).toContain("Types: #code, #research, #content");
    expect(posted(h)).toBe(before);
  });

  it("answers a slash command for the asker only, unless it posts cards for the channel", async () => {
    const h = await harness();
    const id = await taskInReview(h.ctx);
    await h.settle();
    const before = posted(h);
    await h.send(slash("status"));
    await h.settle();
    expect(lastEphemeral(h)).toMatch(/^\*Status\*\n▶️ Not paused/);
    expect(posted(h)).toBe(before);
    await h.send(slash("review"));
    await h.settle();
    const cards = h.fake.ok("chat.postMessage").slice(before).map((c) => blocksText(c.params.blocks as never));
    expect(cards.some((c) => c.startsWith(`*#${id} Research MDX*`))).toBe(true);
  });

  it("suggests the nearest verb for an unknown one, and answers free text in a DM with help", async () => {
    const h = await harness();
    await h.send(slash("stauts"));
    await h.settle();
    expect(lastEphemeral(h)).toBe("*Not understood*\nunknown command /cos stauts; did you mean /cos status? send /cos help for the list");
    await h.send(event({ type: "message", channel_type: "im", channel: DM, user: OWNER, text: "hello" }));
    await h.settle();
    const reply = h.fake.ok("chat.postMessage").at(-1)!;
    expect(reply.params.channel).toBe(DM);
    const text = blocksText(reply.params.blocks as never);
    expect(text).toMatch(/^\*Commands\*\nI take commands, not conversation: send \/cos help for the commands\.\n\/cos task/);
    expect(text).not.toContain("unknown command /hello");
    // A verb alone in a DM is a command.
    await h.send(event({ type: "message", channel_type: "im", channel: DM, user: OWNER, text: "status" }));
    await h.settle();
    expect(blocksText(h.fake.ok("chat.postMessage").at(-1)!.params.blocks as never)).toMatch(/^\*Status\*/);
  });

  it("answers a malformed action instead of leaving the tap unanswered", async () => {
    const h = await harness();
    const { id, card } = await slackCardInReview(h);
    for (const actionId of ["v:x:1:1", "open_page"]) {
      await h.send(tap(actionId, { channel: CHANNEL, ts: card.ts }));
      await h.settle();
      expect(h.fake.ok("chat.postEphemeral").at(-1)!.params).toMatchObject({ channel: CHANNEL, user: OWNER, text: STALE_BUTTON });
    }
  });

  it("Telegram alike: free text gets help, an unknown /verb the nearest one", async () => {
    const h = await telegramHarness();
    await h.send(messageUpdate("hello", { from: TG_OWNER }));
    await h.send(messageUpdate("/stauts", { from: TG_OWNER }));
    await h.settle();
    const [hello, stauts] = h.fake.messagesIn(TG_OWNER).slice(-2).map((m) => m.text);
    expect(hello).toMatch(/^Commands\nI take commands, not conversation: send \/help for the commands\.\n\/task </);
    expect(hello).toContain("Agents: @builder, @writer, @scout");
    expect(stauts).toBe("Not understood\nunknown command /stauts; did you mean /status? send /help for the list");
  });
});
