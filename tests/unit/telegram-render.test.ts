import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MESSAGE_LIMIT,
  blockMessages,
  cardMessage,
  escapeHtml,
  notificationMessages,
  parseVerdictData,
  verdictData,
} from "../../handlers/telegram/render.ts";
import type { ReviewCard } from "../../src/chat/types.ts";
import { parseHtml } from "../fixtures/fake-telegram.ts";

const textOf = (html: string) => {
  const parsed = parseHtml(html);
  if ("error" in parsed) throw new Error(`${parsed.error} in ${html.slice(0, 200)}`);
  return parsed.text;
};

/** No lone surrogate: an emoji was not cut in half. */
const wellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

const card = (over: Partial<ReviewCard> = {}): ReviewCard => ({
  taskId: 42,
  attempt: 2,
  title: "Add MDX blog",
  agent: "builder",
  type: "code",
  tier: "quick",
  summary: "Added the blog.",
  diffStat: { files: 3, insertions: 120, deletions: 4 },
  autoApproveAt: "2026-11-25T06:00:00.000Z",
  decided: null,
  pageUrl: null,
  ...over,
});

describe("Telegram rendering", () => {
  it("escapes only what Telegram's HTML needs", () => {
    expect(escapeHtml(`a < b > c & "d" 'e' _*[]()~\`#+-=|{}.! 🚀`)).toBe(`a &lt; b &gt; c &amp; "d" 'e' _*[]()~\`#+-=|{}.! 🚀`);
  });

  it("round-trips verdict buttons and rejects anything else", () => {
    for (const action of ["approve", "send_back", "discard"] as const) {
      expect(parseVerdictData(verdictData(action, 42, 3))).toEqual({ action, taskId: 42, attempt: 3 });
    }
    expect(verdictData("send_back", 42, 3)).toBe("v:s:42:3");
    for (const bad of ["v:x:1:1", "v:a:1", "v:a:one:1", "v:a:1:1:1", ""]) expect(parseVerdictData(bad)).toBeNull();
  });

  it("shows a card's facts, its timer, its buttons, and once decided its verdict without buttons", () => {
    const open = cardMessage(card(), { timezone: "Europe/Berlin" });
    expect(textOf(open.html)).toBe(
      "#42 Add MDX blog\nbuilder · code · tier quick · attempt 2\ndiff: 3 files, +120 −4\n\nAdded the blog.\n\n⏱ Approved on its own at Wed 25 Nov 07:00 CET unless you decide first.",
    );
    expect(open.keyboard!.inline_keyboard).toHaveLength(1);
    expect(open.keyboard!.inline_keyboard[0]!.map((b) => ("callback_data" in b ? b.callback_data : ""))).toEqual(["v:a:42:2", "v:s:42:2", "v:d:42:2"]);
    const decided = cardMessage(card({ decided: { verdict: "sent_back", by: { actor: "user:telegram:1", name: "Ana <3" }, notes: "Use <rem> & 🚀" } }), { timezone: "UTC" });
    expect(textOf(decided.html)).toContain("↩️ Sent back by Ana <3: Use <rem> & 🚀");
    expect(textOf(decided.html)).not.toContain("Approved on its own");
    expect(decided.keyboard).toBeNull();
    expect(textOf(cardMessage(card({ decided: { verdict: "auto_approved", by: "timer", notes: null } }), { timezone: "UTC" }).html)).toContain("Approved on its own (tier timer)");
  });

  it("puts the review page under the verdict buttons: a Mini App in a private chat over https, else a link", () => {
    const url = "https://cos.example/pages/task/42?k=t42.1.x";
    const rows = (privateChat: boolean, pageUrl = url) => cardMessage(card({ pageUrl }), { timezone: "UTC", privateChat }).keyboard!.inline_keyboard;
    expect(rows(true)[1]).toEqual([{ text: "🔍 Review page", web_app: { url } }]);
    expect(rows(false)[1]).toEqual([{ text: "🔍 Review page", url }]);
    expect(rows(true, "http://cos.internal/pages/task/42?k=t42.1.x")[1]).toEqual([{ text: "🔍 Review page", url: "http://cos.internal/pages/task/42?k=t42.1.x" }]);
    // Decided: the verdict buttons go, the page stays.
    const decided = cardMessage(card({ pageUrl: url, decided: { verdict: "approved", by: "page", notes: null } }), { timezone: "UTC", privateChat: true });
    expect(decided.keyboard!.inline_keyboard).toEqual([[{ text: "🔍 Review page", web_app: { url } }]]);
  });

  it("keeps a card with a huge summary in one message, cut on a character, not inside an escape", () => {
    const huge = cardMessage(card({ summary: "&<>".repeat(5000), title: "🚀".repeat(1000) }), { timezone: "UTC" });
    expect(huge.html.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    const text = textOf(huge.html);
    expect(text).toContain("…");
    expect(wellFormed(text)).toBe(true);
  });

  it("splits at 4,096 characters on line boundaries, and cuts a longer line between code points", () => {
    const lines = Array.from({ length: 200 }, (_, i) => `${i}: ${"é🚀<&>".repeat(8)}`);
    const messages = blockMessages({ title: "Long <one>", lines });
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.html.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(messages.map((m) => textOf(m.html)).join("\n")).toBe(["Long <one>", ...lines].join("\n"));

    const oneLine = "🚀&".repeat(5000);
    const cut = blockMessages({ title: null, lines: [oneLine] });
    for (const m of cut) {
      expect(m.html.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      expect(wellFormed(textOf(m.html))).toBe(true);
    }
    expect(cut.map((m) => textOf(m.html)).join("")).toBe(oneLine);
  });

  it("renders any text so that Telegram parses it back to the same characters, within the limit", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 3000 }), { maxLength: 8 }), (lines) => {
        const messages = blockMessages({ title: null, lines });
        const texts = messages.map((m) => {
          expect(m.html.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
          return textOf(m.html);
        });
        for (const t of texts) expect(wellFormed(t)).toBe(true);
        // Messages that would be only whitespace are not sent; every other character arrives as written.
        const visible = (s: string) => s.replace(/\s/g, "");
        expect(visible(texts.join(""))).toBe(visible(lines.join("")));
      }),
      { numRuns: 150 },
    );
  });

  it("renders a digest as its sections, then its cards", () => {
    const messages = notificationMessages(
      { kind: "digest", blocks: [{ title: "Done overnight (1)", lines: ["#1 A & B [builder]"] }, { title: "Trust changes (0)", lines: ["—"] }], cards: [card()] },
      { timezone: "UTC" },
    );
    expect(messages.map((m) => textOf(m.html).split("\n")[0])).toEqual(["☀️ Digest", "#42 Add MDX blog"]);
    expect(textOf(messages[0]!.html)).toBe("☀️ Digest\n\nDone overnight (1)\n#1 A & B [builder]\n\nTrust changes (0)\n—");
    expect(messages[0]!.keyboard).toBeNull();
    const url = "https://cos.example/pages/review?k=q.1.x";
    const linked = notificationMessages({ kind: "digest", blocks: [{ title: "Done overnight (0)", lines: ["—"] }], cards: [], page: { label: "🗂 Review queue", url } }, { timezone: "UTC", privateChat: true });
    expect(linked[0]!.keyboard).toEqual({ inline_keyboard: [[{ text: "🗂 Review queue", web_app: { url } }]] });
  });
});
