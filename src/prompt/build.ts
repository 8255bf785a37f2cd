import { createHash } from "node:crypto";

// DESIGN §6: the prompt holds only what this task needs, in a fixed order, within a token budget.

export interface PromptInput {
  task: {
    id: number;
    title: string;
    description: string;
    type: string;
    agent: string;
    project: string | null;
    attempt: number;
  };
  /** `automatic`: sent back by cos because the project's checks failed; the notes are their failing output. */
  feedback: { notes: string | null; attempt: number; previousResult: string | null; automatic?: boolean } | null;
  goal: { title: string; success: string | null } | null;
  initiative: { title: string; success: string | null } | null;
  /** One per blocker: its title, agent and handoff (or summary when it wrote none). */
  prerequisites: { id: number; title: string; agent: string; handoff: string }[];
  /** Approved tasks of the same initiative, newest first. */
  siblings: { id: number; title: string; whatWorked: string | null; reusablePattern: string | null }[];
  skills: { name: string; text: string }[];
  /** Summarised engagement signals (content tasks), newest first. */
  signals: string[];
  /** How the agent hands its result in; a command agent's way when absent. */
  report?: ReportChannel;
}

/**
 * How an agent hands its result in (DESIGN §7), so the prompt asks only for what its CLI can do. A preset's CLI
 * prints its final message in structured output the runner reads, and may not write outside its work folder
 * (Claude Code under acceptEdits refuses the run folder and `$COS_RESULT_FILE` in a shell): its final message
 * is the result. Any other command may write COS_RESULT_FILE, or print the result last.
 */
export type ReportChannel = "final-message" | "result-file";

/** An agent with a preset reports in its final message; a plain command through the result file or stdout. */
export function reportChannelOf(agent: { preset?: string | undefined } | undefined): ReportChannel {
  return agent?.preset ? "final-message" : "result-file";
}

export interface BuiltPrompt {
  text: string;
  tokens: number;
  hash: string;
  leftOut: { siblings: number; signals: number };
}

/** A rough, stable estimate: four characters a token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function buildDispatchPrompt(input: PromptInput, budgetTokens = 6000): BuiltPrompt {
  let siblings = input.siblings.filter((s) => s.whatWorked || s.reusablePattern);
  let signals = input.signals;
  const leftOut = { siblings: 0, signals: 0 };
  let text = render(input, siblings, signals, leftOut);
  // Over budget: sibling learnings and signals go first, oldest first.
  while (estimateTokens(text) > budgetTokens && (siblings.length || signals.length)) {
    const oldestSignalFirst = signals.length && (signals.length >= siblings.length || !siblings.length);
    if (oldestSignalFirst) {
      signals = signals.slice(0, -1);
      leftOut.signals++;
    } else {
      siblings = siblings.slice(0, -1);
      leftOut.siblings++;
    }
    text = render(input, siblings, signals, leftOut);
  }
  return { text, tokens: estimateTokens(text), hash: promptHash(text), leftOut };
}

export function promptHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function render(
  input: PromptInput,
  siblings: PromptInput["siblings"],
  signals: string[],
  leftOut: BuiltPrompt["leftOut"],
): string {
  const { task } = input;
  const out: string[] = [];
  const section = (title: string, ...lines: string[]) => out.push(`# ${title}`, "", ...lines, "");

  if (input.feedback) {
    const opening = input.feedback.automatic
      ? `Attempt ${input.feedback.attempt} was sent back automatically: the project's checks failed on it. Their failing output, verbatim:`
      : `Attempt ${input.feedback.attempt} was sent back. The reviewer's notes, verbatim:`;
    const lines = [opening, "", quote(input.feedback.notes ?? "(no notes)")];
    if (input.feedback.previousResult) lines.push("", "The previous result:", "", quote(input.feedback.previousResult));
    section("Feedback from the last attempt", ...lines);
  }

  section(
    `Task #${task.id}: ${task.title}`,
    `Type: ${task.type}. Project: ${task.project ?? "none (work in the current folder)"}. Attempt: ${task.attempt}.`,
    ...(task.description ? ["", task.description] : []),
  );

  if (input.goal || input.initiative) {
    const lines: string[] = [];
    if (input.goal) lines.push(`Goal: ${input.goal.title}${input.goal.success ? ` — success: ${input.goal.success}` : ""}`);
    if (input.initiative) {
      lines.push(`Initiative: ${input.initiative.title}${input.initiative.success ? ` — success: ${input.initiative.success}` : ""}`);
    }
    section("Goal context", ...lines);
  }

  if (input.prerequisites.length) {
    section(
      "Completed prerequisite work",
      ...input.prerequisites.map((p) => `- "${p.title}" [${p.agent}]: ${oneLine(p.handoff, 600)}`),
    );
  }

  if (siblings.length) {
    const lines: string[] = [];
    for (const s of siblings) {
      lines.push(`- From #${s.id} "${s.title}":`);
      if (s.whatWorked) lines.push(`  What worked: ${oneLine(s.whatWorked, 800)}`);
      if (s.reusablePattern) lines.push(`  Reusable pattern: ${oneLine(s.reusablePattern, 800)}`);
    }
    section("Sibling learnings", ...lines);
  }

  if (input.skills.length) {
    section("Skills", ...input.skills.flatMap((s) => [`## Skill: ${s.name}`, "", s.text.trim(), ""]));
  }

  if (signals.length) section("Signals (last 30 days)", ...signals.map((s) => `- ${s}`));

  if (leftOut.siblings || leftOut.signals) {
    const parts = [];
    if (leftOut.siblings) parts.push(`${leftOut.siblings} sibling learning${leftOut.siblings === 1 ? "" : "s"}`);
    if (leftOut.signals) parts.push(`${leftOut.signals} signal line${leftOut.signals === 1 ? "" : "s"}`);
    out.push(`(Left out to stay within the prompt budget: ${parts.join(" and ")}, the oldest first.)`, "");
  }

  const finalMessage = (input.report ?? "result-file") === "final-message";
  section(
    "How to report",
    finalMessage
      ? "Your final message is the result: end with it, in Markdown, using these level-2 headings (case does not matter):"
      : "End with a Markdown result using these level-2 headings (case does not matter):",
    "- `## Summary`: what you did and how it turned out, in a few lines.",
    "- `## Handoff`: what a task that builds on this one needs to know.",
    "- `## What Worked`: the approach that worked, for sibling tasks.",
    "- `## Reusable Pattern`: a pattern others can reuse, if there is one.",
    finalMessage
      ? "Do not write the result to a file: only your final message is recorded."
      : "Write the result to the file named by $COS_RESULT_FILE if you can; otherwise print it last on stdout.",
  );
  return out.join("\n").trimEnd() + "\n";
}

/** The reviewer's words exactly as written, only trailing blank lines dropped. */
function quote(text: string): string {
  return text
    .replace(/\s+$/, "")
    .split("\n")
    .map((l) => `> ${l}`)
    .join("\n");
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()} …` : flat;
}
