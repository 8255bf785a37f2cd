import { describe, expect, it } from "vitest";
import { buildDispatchPrompt, estimateTokens, promptHash, reportChannelOf, type PromptInput } from "../../src/prompt/build.ts";
import { promptInput } from "./prompt-input.ts";

const HEADINGS = {
  feedback: "# Feedback from the last attempt",
  task: "# Task #42: Blog: tag pages",
  goal: "# Goal context",
  prerequisites: "# Completed prerequisite work",
  siblings: "# Sibling learnings",
  skills: "# Skills",
  signals: "# Signals (last 30 days)",
  report: "# How to report",
} as const;

const TASK = { id: 42, title: "Blog: tag pages", description: "One page per tag, linked from each post.", type: "code", agent: "builder", project: "site", attempt: 1 };

const given = (overrides: Partial<PromptInput> = {}): PromptInput => promptInput(TASK, overrides);

const NOTES = 'Tag slugs must be lowercase ("Café" → "cafe").\nKeep the old /tags?t=x URLs working & redirect them.';

/** A sent-back task with every section filled. */
function sentBack(overrides: Partial<PromptInput> = {}): PromptInput {
  return given({
    task: { ...given().task, attempt: 2 },
    feedback: { notes: NOTES, attempt: 1, previousResult: "## Summary\nAdded tag pages under /tags." },
    goal: { title: "Launch the blog", success: "ten posts live by December" },
    initiative: { title: "Blog engine", success: "posts render from MDX" },
    prerequisites: [{ id: 12, title: "Blog engine: MDX pipeline", agent: "builder", handoff: "MDX blog engine fully implemented. Use renderMdx()." }],
    siblings: [
      { id: 14, title: "RSS feed", whatWorked: "Generating the feed at build time", reusablePattern: "One loader per content folder" },
      { id: 13, title: "Post list", whatWorked: "Sorting by front-matter date", reusablePattern: null },
    ],
    skills: [{ name: "nextjs", text: "Use the app router.\n" }],
    signals: ["'Hello MDX' had 120 views this week", "'Why tags' had 40 views"],
    ...overrides,
  });
}

const positions = (text: string, needles: string[]) => needles.map((n) => text.indexOf(n));

describe("the sections of the dispatch prompt (DESIGN §6)", () => {
  it("come in the order of §6: feedback, task, goal, prerequisites, siblings, skills, signals, how to report", () => {
    const { text } = buildDispatchPrompt(sentBack());
    const at = positions(text, Object.values(HEADINGS));
    expect(at.every((p) => p >= 0), `every heading present:\n${text}`).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(text.startsWith(`${HEADINGS.feedback}\n`)).toBe(true);
  });

  it("opens a sent-back task with the reviewer's notes, verbatim, then the previous result", () => {
    const { text } = buildDispatchPrompt(sentBack());
    const feedback = text.slice(0, text.indexOf(HEADINGS.task));
    expect(feedback).toContain("Attempt 1 was sent back.");
    expect(feedback).toContain('> Tag slugs must be lowercase ("Café" → "cafe").\n> Keep the old /tags?t=x URLs working & redirect them.');
    expect(feedback).toContain("> ## Summary\n> Added tag pages under /tags.");
    expect(feedback.indexOf("Tag slugs")).toBeLessThan(feedback.indexOf("Added tag pages"));
  });

  it("gives the notes even without a previous result", () => {
    const { text } = buildDispatchPrompt(sentBack({ feedback: { notes: "Use kebab-case.", attempt: 1, previousResult: null } }));
    expect(text).toContain("> Use kebab-case.");
    expect(text).not.toContain("The previous result");
  });

  it("describes the task: title, description, type, project and attempt", () => {
    const { text } = buildDispatchPrompt(sentBack());
    const section = text.slice(text.indexOf(HEADINGS.task), text.indexOf(HEADINGS.goal));
    expect(section).toContain("Type: code. Project: site. Attempt: 2.");
    expect(section).toContain("One page per tag, linked from each post.");
  });

  it("says when the task has no project", () => {
    const { text } = buildDispatchPrompt(given({ task: { ...given().task, type: "research", project: null } }));
    expect(text).toContain("Type: research. Project: none");
  });

  it("gives the goal and the initiative with their success lines", () => {
    const { text } = buildDispatchPrompt(sentBack());
    expect(text).toContain("Goal: Launch the blog — success: ten posts live by December");
    expect(text).toContain("Initiative: Blog engine — success: posts render from MDX");
  });

  it("gives goal context for an initiative alone", () => {
    const { text } = buildDispatchPrompt(given({ initiative: { title: "Blog engine", success: null } }));
    expect(text).toContain(`${HEADINGS.goal}\n\nInitiative: Blog engine\n`);
    expect(text).not.toContain("Goal: ");
  });

  it("gives each prerequisite's handoff as one item in the exact form of §6", () => {
    const { text } = buildDispatchPrompt(sentBack());
    expect(text).toContain(`${HEADINGS.prerequisites}\n\n- "Blog engine: MDX pipeline" [builder]: MDX blog engine fully implemented. Use renderMdx().\n`);
  });

  it("flattens a handoff over several lines into its one item", () => {
    const prerequisites = [
      { id: 12, title: "Blog engine: MDX pipeline", agent: "builder", handoff: "MDX works.\n\n- renderMdx()\n- getPosts()" },
      { id: 11, title: "Design tokens", agent: "designer", handoff: "Colours in tokens.css" },
    ];
    const { text } = buildDispatchPrompt(given({ prerequisites }));
    expect(text).toContain('- "Blog engine: MDX pipeline" [builder]: MDX works. - renderMdx() - getPosts()\n- "Design tokens" [designer]: Colours in tokens.css\n');
  });

  it("gives sibling learnings newest first, with What Worked and Reusable Pattern", () => {
    const { text } = buildDispatchPrompt(sentBack());
    expect(text).toContain(
      [
        '- From #14 "RSS feed":',
        "  What worked: Generating the feed at build time",
        "  Reusable pattern: One loader per content folder",
        '- From #13 "Post list":',
        "  What worked: Sorting by front-matter date",
      ].join("\n"),
    );
  });

  it("leaves out siblings that recorded no learnings", () => {
    const siblings = [{ id: 15, title: "Typo fix", whatWorked: null, reusablePattern: null }];
    const { text } = buildDispatchPrompt(given({ siblings }));
    expect(text).not.toContain(HEADINGS.siblings);
    expect(text).not.toContain("Typo fix");
  });

  it("gives each skill's text under its name", () => {
    const { text } = buildDispatchPrompt(sentBack());
    expect(text).toContain("## Skill: nextjs\n\nUse the app router.\n");
  });

  it("gives the signals as a list", () => {
    const { text } = buildDispatchPrompt(sentBack());
    expect(text).toContain(`${HEADINGS.signals}\n\n- 'Hello MDX' had 120 views this week\n- 'Why tags' had 40 views\n`);
  });

  it("ends with how to report, naming the four result sections", () => {
    const { text } = buildDispatchPrompt(given());
    const report = text.slice(text.indexOf(HEADINGS.report));
    for (const heading of ["## Summary", "## Handoff", "## What Worked", "## Reusable Pattern"]) expect(report).toContain(heading);
    expect(report).toContain("$COS_RESULT_FILE");
  });

  it("asks an agent with a preset for its final message only: its CLI may not write outside its work folder", () => {
    const { text } = buildDispatchPrompt(given({ report: "final-message" }));
    const report = text.slice(text.indexOf(HEADINGS.report));
    expect(report).toContain("Your final message is the result");
    expect(report).toContain("## Reusable Pattern");
    expect(report).not.toContain("COS_RESULT_FILE");
    expect(reportChannelOf({ preset: "claude-code" })).toBe("final-message");
    expect(reportChannelOf({})).toBe("result-file");
    expect(reportChannelOf(undefined)).toBe("result-file");
  });

  it("leaves out every section that has nothing to say", () => {
    const { text } = buildDispatchPrompt(given());
    const present = Object.entries(HEADINGS)
      .filter(([, heading]) => text.includes(heading))
      .map(([name]) => name);
    expect(present).toEqual(["task", "report"]);
    expect(text).not.toContain("Left out");
  });
});

describe("the prompt budget", () => {
  const signals = ["newest", "newer", "older", "oldest"].map((age) => `${age}: ${"engagement detail ".repeat(5)}`);
  const siblings = ["newest", "newer", "older", "oldest"].map((age, i) => ({
    id: 30 - i,
    title: `${age} sibling`,
    whatWorked: `${age} worked: ${"a careful approach ".repeat(5)}`,
    reusablePattern: null,
  }));

  it("keeps everything and says nothing when the prompt fits", () => {
    const built = buildDispatchPrompt(given({ siblings, signals }), 100_000);
    expect(built.leftOut).toEqual({ siblings: 0, signals: 0 });
    expect(built.text).not.toContain("Left out");
    for (const s of siblings) expect(built.text).toContain(s.title);
  });

  it("cuts the oldest signal first and says so", () => {
    const full = buildDispatchPrompt(given({ signals }), 100_000);
    const built = buildDispatchPrompt(given({ signals }), full.tokens - 1);
    expect(built.leftOut).toEqual({ siblings: 0, signals: 1 });
    expect(built.text).toContain("newer: ");
    expect(built.text).toContain("older: ");
    expect(built.text).not.toContain("oldest: ");
    expect(built.text).toContain("(Left out to stay within the prompt budget: 1 signal line, the oldest first.)");
    expect(built.tokens).toBeLessThanOrEqual(full.tokens - 1);
  });

  it("cuts the oldest sibling learning first and says so", () => {
    const full = buildDispatchPrompt(given({ siblings }), 100_000);
    const built = buildDispatchPrompt(given({ siblings }), full.tokens - 1);
    expect(built.leftOut).toEqual({ siblings: 1, signals: 0 });
    expect(built.text).toContain("older sibling");
    expect(built.text).not.toContain("oldest sibling");
    expect(built.text).toContain("(Left out to stay within the prompt budget: 1 sibling learning, the oldest first.)");
  });

  it("cuts from both lists, oldest first, until the prompt fits, and counts what it cut", () => {
    const input = given({ siblings, signals });
    const full = buildDispatchPrompt(input, 100_000);
    const budget = full.tokens - 120;
    const built = buildDispatchPrompt(input, budget);
    expect(built.tokens).toBeLessThanOrEqual(budget);
    const keptSiblings = siblings.filter((s) => built.text.includes(s.title));
    const keptSignals = signals.filter((s) => built.text.includes(s.trim()));
    expect(keptSiblings).toEqual(siblings.slice(0, siblings.length - built.leftOut.siblings));
    expect(keptSignals).toEqual(signals.slice(0, signals.length - built.leftOut.signals));
    expect(built.leftOut.siblings).toBeGreaterThan(0);
    expect(built.leftOut.signals).toBeGreaterThan(0);
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
    expect(built.text).toContain(
      `(Left out to stay within the prompt budget: ${plural(built.leftOut.siblings, "sibling learning")} and ${plural(built.leftOut.signals, "signal line")}, the oldest first.)`,
    );
  });

  it("cuts only learnings and signals, never the feedback, task, prerequisites or skills", () => {
    const built = buildDispatchPrompt(sentBack(), 10);
    expect(built.leftOut).toEqual({ siblings: 2, signals: 2 });
    for (const heading of [HEADINGS.feedback, HEADINGS.task, HEADINGS.goal, HEADINGS.prerequisites, HEADINGS.skills, HEADINGS.report]) {
      expect(built.text).toContain(heading);
    }
    expect(built.text).not.toContain(HEADINGS.siblings);
    expect(built.text).not.toContain(HEADINGS.signals);
    expect(built.text).toContain("2 sibling learnings and 2 signal lines");
  });

  it("puts the note on what was left out before how to report", () => {
    const built = buildDispatchPrompt(sentBack(), 10);
    expect(built.text.indexOf("(Left out")).toBeLessThan(built.text.indexOf(HEADINGS.report));
    expect(built.text.indexOf("(Left out")).toBeGreaterThan(built.text.indexOf(HEADINGS.skills));
  });

  it("estimates four characters a token", () => {
    expect(estimateTokens("")).toBe(0);
    expect(estimateTokens("abcd")).toBe(1);
    expect(estimateTokens("abcde")).toBe(2);
    const built = buildDispatchPrompt(sentBack());
    expect(built.tokens).toBe(Math.ceil(built.text.length / 4));
  });
});

describe("the prompt hash", () => {
  it("is the same for the same text", () => {
    expect(buildDispatchPrompt(sentBack()).hash).toBe(buildDispatchPrompt(sentBack()).hash);
  });

  it("is the hash of the text it goes with", () => {
    const built = buildDispatchPrompt(sentBack());
    expect(built.hash).toBe(promptHash(built.text));
    expect(built.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it("changes when the text changes", () => {
    const first = buildDispatchPrompt(sentBack());
    const renamed = buildDispatchPrompt(sentBack({ task: { ...sentBack().task, title: "Blog: tag pages v2" } }));
    const otherNotes = buildDispatchPrompt(sentBack({ feedback: { notes: "Lowercase slugs.", attempt: 1, previousResult: null } }));
    expect(new Set([first.hash, renamed.hash, otherNotes.hash]).size).toBe(3);
  });
});
