import { keptForFailedChecks } from "../domain/task/auto-approval.ts";
import { checkEnding, checksFailed, checksLine, failedChecks } from "../domain/task/checks.ts";
import { flagText } from "../domain/task/flags.ts";
import type { Hints } from "../shared/hints.ts";
import { formatTime, verdictData } from "./format.ts";
import { personMark, type Person } from "../app/people.ts";
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
   * The lines under the title: agent, type, tier and attempt; then the diff stat, when files changed; then a
   * warning when the agent's CLI ran in a version its preset was not proven with; then the checks
   * (`✓ test 41 s · ✗ lint`) and the flags (`⚑ sensitive: package-lock.json`).
   */
  facts: string[];
  /**
   * Each check that failed, with how it ended and its last lines (at most CARD_TAIL_LINES): shown under the
   * facts, before the summary, so a failing check is read before anything is tapped (DESIGN §14).
   */
  failedChecks: { title: string; lines: string[] }[];
  /** The result's summary, trimmed and cut at SUMMARY_MAX; "(no summary)" when it is empty. */
  summary: string;
  /** When the summary was cut: where the rest is (the review page, the chat command that shows the whole task). */
  rest: string | null;
  /** The task's review page, while open and once decided. */
  page: PageButton | null;
  /** Once decided: "✅ Approved by …" and the like, with the notes; null while open. */
  verdict: string | null;
  /** While open, on an `auto` or `quick` card: when it is approved on its own, or that it is not (a check failed). */
  timer: string | null;
  /** While open: Approve, Send back, Discard. None once decided. */
  buttons: CardButton[];
}

export const TITLE_MAX = 300;
const NOTES_MAX = 600;
/** A card shows this many of a failed check's last lines (the record keeps 30; cos task show and the page, all). */
export const CARD_TAIL_LINES = 10;
/** …each cut to this many code points, and all failed checks' lines together to CARD_TAILS_MAX: a card fits a phone. */
const CARD_TAIL_LINE_MAX = 160;
const CARD_TAILS_MAX = 2000;
/** The checks line and each flag line: a list of paths is cut, not the card. */
const FACT_MAX = 400;
/** A card shows this much of a summary, in lines and characters; the rest is a command away. */
export const SUMMARY_MAX_LINES = 25;
export const SUMMARY_MAX_CHARS = 1800;

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

/** The words of a card; `hints` write the commands it points to as its platform types them. */
export function cardText(card: ReviewCard, options: RenderOptions, hints: Hints): CardText {
  const facts = [`${card.agent} · ${card.type} · tier ${card.tier} · attempt ${card.attempt}`];
  if (card.diffStat && card.diffStat.files > 0) {
    const s = card.diffStat;
    facts.push(`diff: ${s.files} file${s.files === 1 ? "" : "s"}, +${s.insertions} −${s.deletions}`);
  }
  if (card.cliWarning) facts.push(`⚠ ${card.cliWarning}`);
  const checks = checksLine(card.checks);
  if (checks) facts.push(clip(checks, FACT_MAX));
  facts.push(...(card.flags ?? []).map((flag) => clip(flagText(flag), FACT_MAX)));
  const verdict = verdictLine(card.decided);
  const kept = keptForFailedChecks({ tier: card.tier, checksFailed: checksFailed(card) });
  const summary = cutSummary(card.summary.trim());
  return {
    title: clip(`#${card.taskId} ${card.title}`, TITLE_MAX),
    facts,
    failedChecks: failedCheckTails(card.checks),
    summary: summary.text || "(no summary)",
    rest: summary.cut ? whereTheRestIs(card, hints) : null,
    page: card.pageUrl ? { label: PAGE_LABELS.task, url: card.pageUrl } : null,
    verdict,
    timer:
      verdict !== null
        ? null
        : kept
          ? "⏱ Not approved on its own: a check failed, so a person decides."
          : card.autoApproveAt
            ? `⏱ Approved on its own at ${formatTime(card.autoApproveAt, options.timezone)} unless you decide first.`
            : null,
    buttons: verdict === null ? BUTTONS.map(([label, action]) => ({ label, action, data: verdictData(action, card.taskId, card.attempt) })) : [],
  };
}

/** The failed checks' last lines, the newest kept when the card has no room for all of them. */
function failedCheckTails(checks: ReviewCard["checks"]): CardText["failedChecks"] {
  const failed = failedChecks(checks);
  const share = Math.floor(CARD_TAILS_MAX / Math.max(1, failed.length));
  return failed.map((check) => {
    const lines: string[] = [];
    let room = share;
    for (const line of check.tail.slice(-CARD_TAIL_LINES).reverse()) {
      const shown = clip(line, CARD_TAIL_LINE_MAX);
      if (shown.length + 1 > room) break;
      lines.unshift(shown);
      room -= shown.length + 1;
    }
    return { title: `✗ ${check.name}: ${checkEnding(check)}`, lines };
  });
}

/** The summary's first SUMMARY_MAX_LINES lines and SUMMARY_MAX_CHARS characters, cut at a line when one is near. */
function cutSummary(text: string): { text: string; cut: boolean } {
  const lines = text.split("\n");
  let kept = lines.slice(0, SUMMARY_MAX_LINES).join("\n");
  let cut = lines.length > SUMMARY_MAX_LINES;
  if (Array.from(kept).length > SUMMARY_MAX_CHARS) {
    kept = Array.from(kept).slice(0, SUMMARY_MAX_CHARS).join("");
    const lastBreak = kept.lastIndexOf("\n");
    if (lastBreak > SUMMARY_MAX_CHARS / 2) kept = kept.slice(0, lastBreak);
    cut = true;
  }
  return { text: cut ? `${kept.trimEnd()} …` : kept, cut };
}

/** Where a cut summary goes on: the review page when there is one, the command that shows the whole task, and the diff's. */
function whereTheRestIs(card: ReviewCard, hints: Hints): string {
  const page = card.pageUrl ? `${PAGE_LABELS.task} below, or ` : "";
  const diff = card.diffStat && card.diffStat.files > 0 ? `; the patch: ${hints.diff(card.taskId)}` : "";
  return `The summary is cut here. All of it: ${page}${hints.show(card.taskId)}${diff}`;
}

function verdictLine(decided: ReviewCard["decided"]): string | null {
  if (!decided) return null;
  // Rows written before people had names carry the actor id alone.
  const person: Person = typeof decided.by === "string" ? { actor: decided.by, name: null } : decided.by;
  const by = (words: string) => `${words} by ${personMark(person)}${decided.notes ? `: ${clip(decided.notes, NOTES_MAX)}` : ""}`;
  switch (decided.verdict) {
    case "approved":
      return by("✅ Approved");
    case "sent_back":
      return by("↩️ Sent back");
    case "discarded":
      return by("🗑 Discarded");
    case "auto_approved":
      return "✅ Approved on its own (tier timer)";
    case "auto_sent_back":
      return "↩️ Sent back automatically: a check failed (not a person's verdict; it runs again with the failing output as notes)";
    default: {
      const never: never = decided.verdict;
      return never;
    }
  }
}
