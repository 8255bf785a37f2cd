import { formatTime, verdictData } from "./format.ts";
import type { PageButton, ReviewCard } from "./types.ts";

// The words of a review card (DESIGN §10), written once for every platform: its title and facts, the
// verdict line once decided, the line saying when it is approved on its own, and its buttons. A
// platform turns a CardText into its markup (Telegram HTML, Slack Block Kit) and adds nothing to it.

export interface RenderOptions {
  /** IANA zone for times shown on cards (the digest's timezone). */
  timezone: string;
}

export type CardAction = "approve" | "send_back" | "discard";

export interface CardButton {
  label: string;
  action: CardAction;
  /** What the button carries back: `v:<a|s|d>:<task>:<attempt>`. */
  data: string;
}

export interface CardText {
  /** `#42 Add MDX blog`, cut to TITLE_MAX code points. */
  title: string;
  /**
   * The lines under the title: agent, type, tier and attempt; then the diff stat, when there is one; then a
   * warning when the agent's CLI ran in a version its preset was not proven with.
   */
  facts: string[];
  /** The result's summary, trimmed; "(no summary)" when it is empty. */
  summary: string;
  /** The task's review page, while open and once decided. */
  page: PageButton | null;
  /** Once decided: "✅ Approved by …" and the like, with the notes; null while open. */
  verdict: string | null;
  /** While open, on an `auto` or `quick` card: when it is approved on its own. */
  timer: string | null;
  /** While open: Approve, Send back, Discard. None once decided. */
  buttons: CardButton[];
}

export const TITLE_MAX = 300;
const NOTES_MAX = 600;

/** The labels of the buttons to the review pages. */
export const PAGE_LABELS = { task: "🔍 Review page", queue: "🗂 Review queue" } as const;

/** The review queue's button, for `/review` and the digest. */
export const reviewQueueButton = (url: string | null): PageButton | null => (url ? { label: PAGE_LABELS.queue, url } : null);

const BUTTONS: [label: string, action: CardAction][] = [
  ["✅ Approve", "approve"],
  ["↩️ Send back", "send_back"],
  ["🗑 Discard", "discard"],
];

/** Cuts `raw` to at most `max` code points (an emoji is never cut in half), marking the cut. */
export function clip(raw: string, max: number): string {
  const points = Array.from(raw);
  return points.length <= max ? raw : `${points.slice(0, max - 1).join("")}…`;
}

export function cardText(card: ReviewCard, options: RenderOptions): CardText {
  const facts = [`${card.agent} · ${card.type} · tier ${card.tier} · attempt ${card.attempt}`];
  if (card.diffStat) {
    const s = card.diffStat;
    facts.push(`diff: ${s.files} file${s.files === 1 ? "" : "s"}, +${s.insertions} −${s.deletions}`);
  }
  if (card.cliWarning) facts.push(`⚠ ${card.cliWarning}`);
  const verdict = verdictLine(card.decided);
  return {
    title: clip(`#${card.taskId} ${card.title}`, TITLE_MAX),
    facts,
    summary: card.summary.trim() || "(no summary)",
    page: card.pageUrl ? { label: PAGE_LABELS.task, url: card.pageUrl } : null,
    verdict,
    timer:
      verdict === null && card.autoApproveAt
        ? `⏱ Approved on its own at ${formatTime(card.autoApproveAt, options.timezone)} unless you decide first.`
        : null,
    buttons: verdict === null ? BUTTONS.map(([label, action]) => ({ label, action, data: verdictData(action, card.taskId, card.attempt) })) : [],
  };
}

function verdictLine(decided: ReviewCard["decided"]): string | null {
  if (!decided) return null;
  const by = (words: string) => `${words} by ${decided.by}${decided.notes ? `: ${clip(decided.notes, NOTES_MAX)}` : ""}`;
  switch (decided.verdict) {
    case "approved":
      return by("✅ Approved");
    case "sent_back":
      return by("↩️ Sent back");
    case "discarded":
      return by("🗑 Discarded");
    case "auto_approved":
      return "✅ Approved on its own (tier timer)";
    default: {
      const never: never = decided.verdict;
      return never;
    }
  }
}
