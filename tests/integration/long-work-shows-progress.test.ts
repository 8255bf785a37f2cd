import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runPass } from "../../resolver/pass.ts";
import { queueTask } from "../../src/app/tasks.ts";
import { blocksText } from "../fixtures/fake-slack.ts";
import type { AppContext } from "../../src/app/context.ts";
import { CHAT, runNow, startHarness } from "./telegram-kit.ts";
import { CHANNEL, startSlackHarness } from "./slack-kit.ts";

// Issue #14, item 10: long work shows progress. When a task starts, chat gets a message saying so
// (agent, attempt, which runner), and that message is edited when the run ends.

const CONFIG = {
  agents: {
    quick: { command: ["sh", "-c", "echo '## Summary'; echo all done"] },
    broken: { command: ["sh", "-c", "echo 'BOOM: no key' >&2; exit 2"] },
  },
};

async function runOne(ctx: AppContext, dataDir: string, agent: string, title: string): Promise<number> {
  const id = await queueTask(ctx, { title, type: "research", agent }, "cli");
  await runPass(ctx);
  await runNow(ctx, dataDir, [id]);
  return id;
}

describe("a run in chat", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("Telegram: says when a task starts, on which runner, and edits that message when it ends", async () => {
    const h = await startHarness({ mode: "polling", config: CONFIG });
    cleanups.push(h.close);
    const ok = await runOne(h.ctx, join(h.ws.dir, "data"), "quick", "Quick one");
    const bad = await runOne(h.ctx, join(h.ws.dir, "data"), "broken", "Broken one");
    await h.settle();
    // The message sent as the run started ("▶️ #1 Quick one …"), as it reads after its edit.
    const started = (id: number) => h.fake.messagesIn(CHAT).find((m) => m.text.includes(`#${id} `) && m.text.endsWith("on runner night-runner"));
    expect(h.fake.ok("sendMessage").some((c) => c.params.text === `<b>▶️ #${ok} Quick one</b>\nquick · attempt 1 · on runner night-runner`)).toBe(true);
    const first = started(ok)!;
    expect(first.edits).toBe(1);
    // The clock stands still in this test, so the run took no time on it.
    expect(first.text).toBe(`✅ #${ok} Quick one: finished after 0 s, in review\nquick · attempt 1 · on runner night-runner`);
    const second = started(bad)!;
    expect(second.text).toBe(`❌ #${bad} Broken one: attempt 1 failed after 0 s; queued again\nbroken · attempt 1 · on runner night-runner`);
  });

  it("Slack: the same message, posted when the run starts and updated when it ends", async () => {
    const h = await startSlackHarness({ config: CONFIG });
    cleanups.push(h.close);
    const id = await runOne(h.ctx, join(h.ws.dir, "data"), "quick", "Quick one");
    await h.settle();
    const message = h.fake.messagesIn(CHANNEL).find((m) => blocksText(m.blocks).includes("on runner night-runner"))!;
    expect(message.edits).toBe(1);
    expect(blocksText(message.blocks)).toBe(`*✅ #${id} Quick one: finished after 0 s, in review*\nquick · attempt 1 · on runner night-runner`);
    expect(h.fake.ok("chat.postMessage").some((c) => blocksText(c.params.blocks as never) === `*▶️ #${id} Quick one*\nquick · attempt 1 · on runner night-runner`)).toBe(true);
  });
});
