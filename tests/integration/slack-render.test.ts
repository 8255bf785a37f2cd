import { describe, expect, it } from "vitest";
import { MAX_BLOCKS, SECTION_LIMIT, notificationMessages } from "../../handlers/slack/render.ts";
import { blocksText } from "../fixtures/fake-slack.ts";

describe("Slack Block Kit rendering", () => {
  it("splits a long digest into several messages, each within 50 blocks and 3,000 characters a section, losing no line", () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `#${i + 1} ${"a long title ".repeat(7)}<&> [scout]: line ${i + 1}`);
    const messages = notificationMessages({ kind: "digest", blocks: [{ title: "Tonight's queue (3000)", lines }], cards: [] }, { timezone: "UTC" });
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) {
      expect(m.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS);
      for (const b of m.blocks) expect(((b.text as { text?: string } | undefined)?.text ?? "").length).toBeLessThanOrEqual(SECTION_LIMIT);
    }
    const all = messages.map((m) => blocksText(m.blocks)).join("\n");
    for (const n of [1, 1500, 3000]) expect(all).toContain(`line ${n}\n`.trim());
    expect(all).toContain("&lt;&amp;&gt;");
    expect(all.split("\n").filter((l) => l.includes("[scout]: line")).length).toBe(3000);
  });

  it("cuts a single line longer than a section without breaking an escape", () => {
    const [m] = notificationMessages({ kind: "failure", block: { title: "x", lines: ["&".repeat(4000)] } }, { timezone: "UTC" });
    for (const b of m!.blocks) {
      const text = (b.text as { text: string }).text;
      expect(text.length).toBeLessThanOrEqual(SECTION_LIMIT);
      expect(text.replace(/&amp;/g, "")).not.toMatch(/&/);
    }
  });
});

describe("the Slack transport", () => {
  it("waits out a rate limit on a later part of a split message instead of posting the first part again", async () => {
    const { startFakeSlack } = await import("../fixtures/fake-slack.ts");
    const { outboxClient, slackTransport } = await import("../../handlers/slack/transport.ts");
    const fake = await startFakeSlack();
    try {
      const waits: number[] = [];
      const transport = slackTransport(outboxClient(fake.token, fake.apiUrl), { channel: "C1", timezone: "UTC", sleep: async (ms) => void waits.push(ms) });
      const lines = Array.from({ length: 3000 }, (_, i) => `${"word ".repeat(20)}line ${i + 1}`);
      const parts = notificationMessages({ kind: "digest", blocks: [{ title: "Queue", lines }], cards: [] }, { timezone: "UTC" }).length;
      fake.failNext("chat.postMessage", 1, 3, { skip: 1 });
      await transport.deliver({ kind: "digest", blocks: [{ title: "Queue", lines }], cards: [] }, []);
      expect(waits).toEqual([3000]);
      expect(fake.messagesIn("C1")).toHaveLength(parts);
      expect(fake.calls.filter((c) => c.method === "chat.postMessage" && c.status === 429)).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});
