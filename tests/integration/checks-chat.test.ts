import { afterEach, describe, expect, it } from "vitest";
import { queueTask } from "../../src/app/tasks.ts";
import { buildDigest, digestSince, digestText } from "../../src/app/digest.ts";
import { blocksText, buttonIds } from "../fixtures/fake-slack.ts";
import { checksConfig, FAILS, PASSES, passAndRun, siteRepo } from "./checks-kit.ts";
import { slackCard, startSlackHarness, type SlackHarness } from "./slack-kit.ts";
import { buttonData, cardOfTask, CHAT, startHarness, type Harness } from "./telegram-kit.ts";

// Issue 16, "must hold": a failing check is on the card before a person taps anything, with its last lines;
// and the flags for what deserves a closer look. Through the fake Bot API and the fake Slack Web API, as a
// person's phone gets them.

const config = checksConfig([PASSES("test"), FAILS("lint")], {
  agentArgs: ["write:package-lock.json={}\\n", "delete:old.txt"],
  review: { flagDeletionsOver: 3 },
});
const OLD = { "old.txt": "one\ntwo\nthree\nfour\nfive\n" };

describe("the review packet on chat", () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });

  it("Telegram: the card says ✓ test · ✗ lint, shows lint's last lines and the flags, and that the timer will not approve it", async () => {
    const h: Harness = await startHarness({ mode: "polling", config });
    open.push(h);
    siteRepo(h.ws.dir, OLD);
    const id = await queueTask(h.ctx, { title: "Add a page", type: "code", agent: "builder", tier: "auto" }, "cli");
    await passAndRun(h.ctx, h.ws.dir);
    await h.settle();

    const card = cardOfTask(h.fake, id)!;
    if (process.env.COS_SHOW_CARDS) console.log(`--- Telegram card ---\n${card.html}`);
    expect(card.text).toMatch(/✓ test \d+\.\d s · ✗ lint/);
    expect(card.text).toContain("✗ lint: exit code 1 after");
    expect(card.html).toContain("<pre>src/a.ts:3 unused variable x\n1 problem</pre>");
    expect(card.text).toContain("⚑ sensitive: package-lock.json");
    expect(card.text).toContain("⚑ 5 lines deleted (over 3); removed: old.txt");
    expect(card.text).toContain("⏱ Not approved on its own: a check failed, so a person decides.");
    // The lines come before the summary: read before anything is tapped.
    expect(card.text.indexOf("unused variable x")).toBeLessThan(card.text.indexOf("Changed work.txt"));
    expect(buttonData(card.replyMarkup)).toEqual([`v:a:${id}:1`, `v:s:${id}:1`, `v:d:${id}:1`]);

    // The digest's review queue says the same under the item.
    const digest = digestText(await buildDigest(h.ctx, digestSince(h.clock.now())));
    expect(digest).toMatch(new RegExp(`#${id} Add a page .*\\n +✓ test \\d+\\.\\d s · ✗ lint\\n +⚑ sensitive: package-lock.json`));
  });

  it("Telegram, send-back mode: the first result's card says it went back on its own, with no buttons; the redo gets a card of its own", async () => {
    const h: Harness = await startHarness({ mode: "polling", config: checksConfig([FAILS("lint")], { review: { onFailedChecks: "send-back" } }) });
    open.push(h);
    siteRepo(h.ws.dir);
    const id = await queueTask(h.ctx, { title: "Add a page", type: "code", agent: "builder" }, "cli");
    await passAndRun(h.ctx, h.ws.dir);
    await h.settle();
    const first = h.fake.messagesIn(CHAT).find((m) => m.text.startsWith(`#${id} `) && m.text.includes("attempt 1"))!;
    if (process.env.COS_SHOW_CARDS) console.log(`--- Telegram card, sent back on its own ---\n${first.html}`);
    expect(first.text).toContain("✗ lint: exit code 1 after");
    expect(first.text).toContain("↩️ Sent back automatically: a check failed (not a person's verdict; it runs again with the failing output as notes)");
    expect(buttonData(first.replyMarkup)).toEqual([]);

    await passAndRun(h.ctx, h.ws.dir);
    await h.settle();
    const second = h.fake.messagesIn(CHAT).find((m) => m.text.startsWith(`#${id} `) && m.text.includes("attempt 2"))!;
    expect(second.text).toContain("✗ lint");
    expect(buttonData(second.replyMarkup)).toEqual([`v:a:${id}:2`, `v:s:${id}:2`, `v:d:${id}:2`]);
  });

  it("Slack: the card carries the same checks line, lint's last lines in a code block, and the flags", async () => {
    const h: SlackHarness = await startSlackHarness({ config });
    open.push(h);
    siteRepo(h.ws.dir, OLD);
    const id = await queueTask(h.ctx, { title: "Add a page", type: "code", agent: "builder" }, "cli");
    await passAndRun(h.ctx, h.ws.dir);
    await h.settle();

    const card = slackCard(h.fake, id)!;
    const text = blocksText(card.blocks);
    if (process.env.COS_SHOW_CARDS) console.log(`--- Slack card ---\n${JSON.stringify(card.blocks, null, 1)}`);
    expect(text).toMatch(/✓ test \d+\.\d s · ✗ lint/);
    expect(text).toContain("*✗ lint: exit code 1 after");
    expect(text).toContain("```\nsrc/a.ts:3 unused variable x\n1 problem\n```");
    expect(text).toContain("⚑ sensitive: package-lock.json");
    expect(text).toContain("⚑ 5 lines deleted (over 3); removed: old.txt");
    expect(buttonIds(card.blocks)).toEqual([`v:a:${id}:1`, `v:s:${id}:1`, `v:d:${id}:1`]);
  });
});
