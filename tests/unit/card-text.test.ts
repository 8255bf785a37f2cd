import { describe, expect, it } from "vitest";
import { cardText } from "../../src/chat/card-text.ts";
import { plainPeople } from "../../src/app/people.ts";
import { hintsFor } from "../../src/shared/hints.ts";
import { notAllowed, notesQuestion, notificationParts } from "../../src/chat/chat-text.ts";
import type { ReviewCard } from "../../src/chat/types.ts";

const OPEN: ReviewCard = { taskId: 42, attempt: 2, title: "Add MDX blog", agent: "builder", type: "code", tier: "quick", summary: "  ", decided: null, pageUrl: null,
  diffStat: { files: 1, insertions: 3, deletions: 0 }, autoApproveAt: "2026-11-25T06:00:00.000Z" };
const card = (over: Partial<ReviewCard> = {}): ReviewCard => ({ ...OPEN, ...over });

describe("the card text model", () => {
  it("words an open card: facts, its timer, three buttons", () => {
    const text = cardText(card(), { timezone: "UTC" }, hintsFor("telegram"));
    expect(text).toMatchObject({
      title: "#42 Add MDX blog",
      facts: ["builder · code · tier quick · attempt 2", "diff: 1 file, +3 −0"],
      summary: "(no summary)",
      verdict: null,
      timer: "⏱ Approved on its own at Wed 25 Nov 06:00 UTC unless you decide first.",
    });
    expect(text.buttons.map((b) => [b.label, b.data])).toEqual([
      ["✅ Approve", "v:a:42:2"],
      ["↩️ Send back", "v:s:42:2"],
      ["🗑 Discard", "v:d:42:2"],
    ]);
  });

  it("warns, under the facts, about an agent CLI in a version its preset was not proven with", () => {
    const warning = "Claude Code 2.1.400 is not a version the claude-code preset was proven with (2.1.332); if runs go wrong, install 2.1.332";
    expect(cardText(card({ cliWarning: warning }), { timezone: "UTC" }, hintsFor("telegram")).facts).toEqual(["builder · code · tier quick · attempt 2", "diff: 1 file, +3 −0", `⚠ ${warning}`]);
  });

  it("words a decided card: its verdict line with the notes, no timer, no buttons", () => {
    const text = cardText(card({ decided: { verdict: "discarded", by: "user:slack:U1", notes: "not needed" } }), { timezone: "UTC" }, hintsFor("telegram"));
    expect(text).toMatchObject({ timer: null, buttons: [] });
    expect(plainPeople(text.verdict!)).toBe("🗑 Discarded by Slack user U1: not needed");
    expect(cardText(card({ decided: { verdict: "auto_approved", by: "timer", notes: null } }), { timezone: "UTC" }, hintsFor("telegram")).verdict).toBe(
      "✅ Approved on its own (tier timer)",
    );
  });

  it("carries the review page's button while open and once decided, and none without a link", () => {
    const url = "https://cos.example/pages/task/42?k=t42.1.x";
    const text = (over: Partial<ReviewCard>) => cardText(card(over), { timezone: "UTC" }, hintsFor("telegram"));
    expect(text({ pageUrl: url }).page).toEqual({ label: "🔍 Review page", url });
    expect(text({ pageUrl: url, decided: { verdict: "approved", by: "page", notes: null } }).page).toEqual({ label: "🔍 Review page", url });
    expect(text({}).page).toBeNull();
    // A summary cut on the card points to the page first.
    expect(text({ pageUrl: url, summary: "line\n".repeat(40) }).rest).toBe("The summary is cut here. All of it: 🔍 Review page below, or /show 42; the patch: /diff 42");
  });

  it("asks for notes with only the hint the platform gives", () => {
    expect(notesQuestion({ taskId: 7, title: "Fix it" })).toBe('Notes for #7 "Fix it":');
    expect(notesQuestion({ taskId: 7, title: "Fix it" }, "(reply to this message)")).toBe('Notes for #7 "Fix it" (reply to this message):');
  });

  it("titles notifications with their kind's emoji and names the allowlist in a refusal", () => {
    expect(notificationParts({ kind: "held", block: { title: "#3 is held", lines: ["x"] } })).toEqual([
      { kind: "block", block: { title: "⏸ #3 is held", lines: ["x"] } },
    ]);
    expect(notAllowed("slack", "U9")).toMatch(/add your user id to SLACK_ALLOWED_USER_IDS\.\nYour user id: U9$/);
  });
});
