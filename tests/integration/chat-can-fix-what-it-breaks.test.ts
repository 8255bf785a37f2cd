import { describe, expect, it } from "vitest";
import { showTask } from "../../src/app/views.ts";
import { blocksText } from "../fixtures/fake-slack.ts";
import { tapUpdate } from "../fixtures/fake-telegram.ts";
import { CHAT, OWNER, cardInReview, askAsOwner } from "./telegram-kit.ts";
import { slackCardInReview, slash, tap } from "./slack-kit.ts";
import { chatHarnessesClosedAfterEach } from "./chat-kit.ts";

// Issue #14, item 7: chat can fix what it breaks. A task queued after a blocker that already ended
// badly is warned about at once; every way out a chat reply offers is a chat command with the real id.

describe("chat can fix what it breaks", () => {
  const { telegramHarness, slackHarness } = chatHarnessesClosedAfterEach();

  const ask = askAsOwner;

  it("warns when a task is queued after a discarded blocker, and /after and /edit fix it with the real id", async () => {
    const h = await telegramHarness();
    const { id: blocker, card } = await cardInReview(h);
    await h.send(tapUpdate(`v:d:${blocker}:1`, { chatId: CHAT, messageId: card.messageId }, { from: OWNER }));
    await h.settle();

    const queued = await ask(h, `/task Write it up #research @writer after:${blocker}`);
    const id = blocker + 1;
    expect(queued).toBe(
      [
        `Queued #${id}: Write it up`,
        "type research",
        "agent writer",
        "project site",
        `after #${blocker}`,
        `⚠️ #${blocker} was discarded, so #${id} will wait until you cancel it (/cancel ${id}) or change its blockers (/after ${id} none, or /after ${id} 12,13 to wait for others)`,
      ].join("\n"),
    );
    const why = await ask(h, `/why ${id}`);
    expect(why).toContain(`(/after ${id} none, or /after ${id} 12,13 to wait for others)`);
    expect(why).not.toMatch(/cos task|\bID\b/);

    expect(await ask(h, `/after ${id} none`)).toBe(
      `#${id} changed: after nothing, priority 0, area none, agent writer, tier as trust decides\n#${id}: ready: the next resolver pass dispatches it (tier auto)`,
    );
    expect(await ask(h, `/edit ${id} prio:3 area:blog`)).toMatch(new RegExp(`^#${id} changed: after nothing, priority 3, area blog, agent writer`));
    expect(await showTask(h.ctx, id)).toMatchObject({ blockedBy: [], priority: 3, area: "blog", held: null });

    // A refusal's way out is a chat command too.
    expect(await ask(h, "/cancel 999")).toBe("Refused\ntask #999 does not exist (/status shows the open tasks)");
    await ask(h, "/pause");
    expect(await ask(h, "/pause")).toBe("Refused\nthe resolver is already paused (/resume starts it again)");
  });

  it("writes the same warning with Slack's /cos verbs", async () => {
    const h = await slackHarness();
    const { id: blocker, card } = await slackCardInReview(h);
    await h.send(tap(`v:d:${blocker}:1`, card));
    await h.send(slash(`task Write it up #research @writer after:${blocker}`));
    await h.settle();
    const id = blocker + 1;
    const reply = blocksText(h.fake.ok("chat.postEphemeral").at(-1)!.params.blocks as never);
    expect(reply).toContain(`(/cos cancel ${id}) or change its blockers (/cos after ${id} none, or /cos after ${id} 12,13 to wait for others)`);
  });
});
