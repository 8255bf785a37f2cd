import type { Platform } from "../config/platforms.ts";
import type { CheckRecord } from "../domain/task/checks.ts";
import type { ReviewFlag } from "../domain/task/flags.ts";
import type { Tier, Verdict } from "../domain/task/task.ts";
import type { Person } from "../app/people.ts";
import type { TextBlock } from "../app/text.ts";

// The chat core's contract with every platform adapter (Telegram, Slack). Adapters parse nothing
// and decide nothing: they turn an incoming message or tap into `ChatInput`, hand it to
// `handleChat`, and render the `ChatReply` view models in their own markup.

/** A platform of the registry (src/config/platforms.ts). */
export type { Platform };

/** Who is acting, as the adapter saw it. `allowed` comes from the platform's allowlist. */
export interface ChatActor {
  platform: Platform;
  userId: string;
  /** `user:telegram:123`, recorded as the actor of every event. */
  actor: string;
}

/**
 * What arrived: a message (a command, or free text), a button tap, a reply carrying send-back notes
 * (an answer to the bot's own question, or the modal), or a comment on a card (any other reply to it),
 * which is an activity note and never a verdict.
 */
export type ChatInput =
  | { kind: "message"; text: string }
  | { kind: "tap"; action: "approve" | "send_back" | "discard"; taskId: number; attempt: number }
  | { kind: "notes"; taskId: number; attempt: number; text: string }
  | { kind: "comment"; taskId: number; attempt: number; text: string };

/** A review card (DESIGN §10): one per result, edited in place once decided. */
export interface ReviewCard {
  taskId: number;
  attempt: number;
  title: string;
  agent: string;
  type: string;
  tier: Tier;
  summary: string;
  diffStat: { files: number; insertions: number; deletions: number } | null;
  /** Set when the agent's CLI ran in a version its preset was not proven with. */
  cliWarning?: string | null;
  /** When an `auto` or `quick` item is approved on its own; null for gate. */
  autoApproveAt: string | null;
  /** The project's checks on this result (DESIGN §14); absent when its project has none. */
  checks?: CheckRecord[] | null;
  /** What deserves a closer look: sensitive paths, large deletions. */
  flags?: ReviewFlag[];
  /** Set once decided: the card shows it and loses its buttons. `by` is an actor id in rows written before people had names. */
  decided: { verdict: Verdict | "auto_approved" | "auto_sent_back"; by: Person | string; notes: string | null } | null;
  /** The task's review page (DESIGN §13), a signed link; null without COS_PUBLIC_URL. */
  pageUrl: string | null;
}

/** A button opening a review page (DESIGN §13): in Telegram a Mini App where it may be one, else a link. */
export interface PageButton {
  label: string;
  url: string;
}

/** Plain text made of lines; a renderer escapes and formats it for its platform. */
export type { TextBlock };

export type ChatReply =
  | { kind: "text"; block: TextBlock }
  /** `page`: the review queue's link, shown with the intro. */
  | { kind: "cards"; intro: TextBlock | null; cards: ReviewCard[]; page?: PageButton | null }
  /** Ask for send-back notes (Telegram: force-reply; Slack: a modal), worded by `notesQuestion`. */
  | { kind: "ask_notes"; taskId: number; attempt: number; title: string }
  /** A tap was answered: a short toast, and the card to show now (edited in place). */
  | { kind: "tap_answer"; toast: string; card: ReviewCard | null }
  /** A file to send (`/diff 42`). */
  | { kind: "file"; name: string; content: string; caption: string };

/**
 * What the outbox delivers (DESIGN §1): written in the transaction of the events that caused it.
 * `card_update` edits every card posted for its attempt; `run_ended` edits the attempt's `run_started`.
 */
export type Notification =
  | { kind: "review_card"; card: ReviewCard }
  | { kind: "card_update"; card: ReviewCard }
  | { kind: "trust_change"; block: TextBlock }
  | { kind: "failure"; block: TextBlock }
  | { kind: "held"; block: TextBlock }
  | { kind: "stopped"; block: TextBlock }
  | { kind: "run_started"; taskId: number; attempt: number; block: TextBlock }
  | { kind: "run_ended"; block: TextBlock }
  /**
   * `heading` carries the date; absent in rows written before it did (the renderer then says "Digest").
   * `page`: the review queue's link, shown with the digest's text (absent on digests stored before the pages).
   */
  | { kind: "digest"; heading?: string; blocks: TextBlock[]; cards: ReviewCard[]; page?: PageButton | null };
