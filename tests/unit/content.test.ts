import { describe, expect, it } from "vitest";
import { evolveContent, foldContent, type ContentEvent } from "../../src/domain/content/content.ts";
import { decideContent, type ContentCommand } from "../../src/domain/content/decide.ts";
import { summariseSignals, type SignalRow } from "../../src/domain/content/signals.ts";
import { buildDispatchPrompt } from "../../src/prompt/build.ts";
import { IllegalStateError, ValidationError } from "../../src/shared/errors.ts";
import { promptInput } from "./prompt-input.ts";

const T0 = "2026-11-23T22:00:00.000Z";
const meta = { at: T0, actor: "agent:writer" };
const created: ContentEvent = {
  type: "ContentItemCreated",
  data: { itemId: 3, project: "site", taskId: 7, title: "Launch post", channel: "blog", status: "draft", url: null, body: "" },
  at: T0,
};

function given(events: ContentEvent[]) {
  const state = foldContent(events);
  return {
    when: (command: ContentCommand) => ({
      then: (expected: unknown) => expect(decideContent(command, state, meta)).toEqual(expected),
      thenThrows: (type: new (...args: never[]) => Error, message: string | RegExp) => {
        expect(() => decideContent(command, state, meta)).toThrow(type);
        expect(() => decideContent(command, state, meta)).toThrow(message);
      },
    }),
  };
}

describe("content items", () => {
  it("creates an item once", () => {
    given([]).when({ type: "CreateContentItem", data: created.data as never }).then([{ type: "ContentItemCreated", data: created.data }]);
    given([created]).when({ type: "CreateContentItem", data: created.data as never }).thenThrows(IllegalStateError, "already exists");
  });

  it.each([
    [{ title: " " }, "needs a title"],
    [{ channel: "My Blog" }, "short lower-case name"],
    [{ status: "viral" }, "status must be one of idea, draft, scheduled, published, archived"],
    [{ url: "javascript:alert(1)" }, "http(s) address"],
    [{ body: "x".repeat(100_001) }, "longer than 100000"],
  ])("refuses a bad field %j", (changes, message) => {
    given([created]).when({ type: "UpdateContentItem", data: { changes: changes as never, taskId: null } }).thenThrows(ValidationError, message);
  });

  it("records only the fields that change, and nothing when none does", () => {
    given([created])
      .when({ type: "UpdateContentItem", data: { changes: { title: "Launch post", status: "published" }, taskId: 7 } })
      .then([{ type: "ContentItemUpdated", data: { changes: { status: "published" }, taskId: 7 } }]);
    given([created]).when({ type: "UpdateContentItem", data: { changes: { channel: "blog" }, taskId: 7 } }).then([]);
  });

  it("takes a signal with a valid metric, a finite value and a time not in the future", () => {
    const signal = (data: Partial<{ metric: string; value: number; at: string }>) =>
      ({ type: "ReportSignal", data: { metric: "views", value: 5, at: T0, taskId: 7, ...data } }) as const;
    given([created]).when(signal({ at: "2026-11-23T08:00:00+01:00" })).then([
      { type: "SignalReported", data: { metric: "views", value: 5, at: "2026-11-23T07:00:00.000Z", taskId: 7 } },
    ]);
    given([created]).when(signal({ metric: "Views" })).thenThrows(ValidationError, "metric");
    given([created]).when(signal({ value: Number.NaN })).thenThrows(ValidationError, "finite number");
    given([created]).when(signal({ value: Number.POSITIVE_INFINITY })).thenThrows(ValidationError, "finite number");
    given([created]).when(signal({ at: "yesterday" })).thenThrows(ValidationError, "ISO-8601");
    given([created]).when(signal({ at: "2026-11-23T22:06:00.000Z" })).thenThrows(ValidationError, "in the future");
    given([]).when(signal({})).thenThrows(IllegalStateError, "no such content item");
  });

  it("folds its fields and signals", () => {
    const state = [
      created,
      { type: "ContentItemUpdated", data: { changes: { status: "published", url: "https://x.test/p" }, taskId: 7 }, at: "2026-11-23T23:00:00.000Z" },
      { type: "SignalReported", data: { metric: "views", value: 10, at: "2026-11-23T23:30:00.000Z", taskId: null }, at: "2026-11-24T00:00:00.000Z" },
    ].reduce((s, e) => evolveContent(s, e as ContentEvent), null as ReturnType<typeof evolveContent> | null);
    expect(state).toEqual({
      id: 3,
      project: "site",
      createdByTask: 7,
      title: "Launch post",
      channel: "blog",
      status: "published",
      url: "https://x.test/p",
      body: "",
      createdAt: T0,
      updatedAt: "2026-11-23T23:00:00.000Z",
      signals: [{ metric: "views", value: 10, at: "2026-11-23T23:30:00.000Z", reportedAt: "2026-11-24T00:00:00.000Z", taskId: null }],
    });
  });
});

const row = (itemId: number, metric: string, value: number, day: number, extra: Partial<SignalRow> = {}): SignalRow => ({
  itemId,
  title: `Post ${itemId}`,
  channel: "blog",
  status: "published",
  metric,
  value,
  at: `2026-11-${String(day).padStart(2, "0")}T09:00:00.000Z`,
  ...extra,
});

describe("the signals summary", () => {
  it("is empty without signals", () => {
    expect(summariseSignals([])).toEqual([]);
  });

  it("gives per channel the counts, totals, best and worst, then per item its totals, the latest first", () => {
    const lines = summariseSignals([
      row(1, "views", 900, 20),
      row(1, "views", 100, 21),
      row(1, "likes", 30, 21),
      row(2, "views", 40, 22),
      row(3, "views", 1500.5, 10, { channel: "x", title: "Thread" }),
    ]);
    expect(lines).toEqual([
      'blog: 2 items, 4 signals; likes 30; views 1,040 (best #1 "Post 1" 1,000, worst #2 "Post 2" 40)',
      "x: 1 item, 1 signal; views 1,500.5",
      '#2 "Post 2" (blog, published): views 40 in 1 signal; last 2026-11-22',
      '#1 "Post 1" (blog, published): likes 30 in 1 signal, views 1,000 in 2 signals; last 2026-11-21',
      '#3 "Thread" (x, published): views 1,500.5 in 1 signal; last 2026-11-10',
    ]);
  });

  it("lists at most 40 items and counts the rest", () => {
    const lines = summariseSignals(Array.from({ length: 45 }, (_, i) => row(i + 1, "views", i, 1 + (i % 28))));
    expect(lines.filter((l) => l.startsWith("#"))).toHaveLength(40);
    expect(lines.at(-1)).toBe("(5 more items with fewer recent signals)");
  });

  it("fits the prompt budget: item lines go first, the oldest first, and the prompt says so", () => {
    const task = { id: 9, title: "Write the next post", description: "", type: "content", agent: "writer", project: "site", attempt: 1 };
    const input = promptInput(task, {
      signals: summariseSignals(Array.from({ length: 40 }, (_, i) => row(i + 1, "views", 10 * i, 1 + (i % 28), { title: `A long title for post number ${i + 1}` }))),
    });
    const roomy = buildDispatchPrompt(input, 6000);
    expect(roomy.leftOut.signals).toBe(0);
    expect(roomy.text).toContain("# Signals (last 30 days)\n\n- blog: 40 items, 40 signals; views 7,800");
    const tight = buildDispatchPrompt(input, 500);
    expect(tight.tokens).toBeLessThanOrEqual(500);
    expect(tight.leftOut.signals).toBeGreaterThan(0);
    expect(tight.text).toContain("- blog: 40 items");
    expect(tight.text).toMatch(/Left out to stay within the prompt budget: \d+ signal lines, the oldest first/);
  });
});
