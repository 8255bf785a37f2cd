import { PLATFORMS, type Platform } from "../config/platforms.ts";
import type { ChatReply, Notification, PageButton, ReviewCard, TextBlock } from "./types.ts";

// What a reply or a notification says, in the order it says it, for every platform: text blocks
// (a notification's title carries its kind's emoji), review cards, and the digest. Also the fixed
// sentences every platform says alike: the refusal of someone not allowed, the question asking for
// notes. A platform renders these parts in its markup and adds only what is its own (Telegram's
// "reply to this message", Slack's "reply in the card's thread").

export type ChatPart =
  /** `page`: a button to a review page under the text (the review queue under `/review`'s intro). */
  | { kind: "block"; block: TextBlock; page?: PageButton | null }
  | { kind: "card"; card: ReviewCard }
  /** The digest's text: its heading, then one block per section, and the review queue's button. Its cards follow as card parts. */
  | { kind: "digest"; heading: string; blocks: TextBlock[]; page?: PageButton | null };

/** The replies that are shown as messages (taps, files and questions are each platform's own calls). */
export type ShownReply = Extract<ChatReply, { kind: "text" | "cards" }>;

export const DIGEST_HEADING = "☀️ Digest";

const EMOJI = { trust_change: "⚖️", failure: "❌", held: "⏸", stopped: "⏹", run_started: "▶️" } as const;

export function replyParts(reply: ShownReply): ChatPart[] {
  switch (reply.kind) {
    case "text":
      return [{ kind: "block", block: reply.block }];
    case "cards":
      return [...(reply.intro ? [{ kind: "block" as const, block: reply.intro, page: reply.page ?? null }] : []), ...cardParts(reply.cards)];
    default: {
      const never: never = reply;
      return never;
    }
  }
}

export function notificationParts(n: Notification): ChatPart[] {
  switch (n.kind) {
    case "review_card":
    case "card_update":
      return cardParts([n.card]);
    case "trust_change":
    case "failure":
    case "held":
    case "stopped":
    case "run_started":
      return [{ kind: "block", block: { title: n.block.title ? `${EMOJI[n.kind]} ${n.block.title}` : null, lines: n.block.lines } }];
    case "run_ended":
      // Its title carries the outcome's own emoji.
      return [{ kind: "block", block: n.block }];
    case "digest":
      return [{ kind: "digest", heading: n.heading ?? DIGEST_HEADING, blocks: n.blocks, page: n.page ?? null }, ...cardParts(n.cards)];
    default: {
      const never: never = n;
      return never;
    }
  }
}

const cardParts = (cards: ReviewCard[]): ChatPart[] => cards.map((card) => ({ kind: "card", card }));

/** How a platform shows each kind of part, as its own messages; what a platform's render.ts provides. */
export interface PartRenderer<Message> {
  /** Text, split at the platform's limits, with the page's button under it when there is one. */
  block(block: TextBlock, page: PageButton | null): Message[];
  /** One message, with the buttons while open. */
  card(card: ReviewCard): Message;
  digest(heading: string, blocks: TextBlock[], page: PageButton | null): Message[];
}

/** The messages of parts, in order. */
export function renderParts<Message>(parts: ChatPart[], render: PartRenderer<Message>): Message[] {
  return renderPartsTracked(parts, render).map((m) => m.message);
}

/** The messages of parts, in order, each with the card it shows (so that its address can be kept for edits). */
export function renderPartsTracked<Message>(parts: ChatPart[], render: PartRenderer<Message>): { message: Message; card: ReviewCard | null }[] {
  return parts.flatMap((part): { message: Message; card: ReviewCard | null }[] => {
    switch (part.kind) {
      case "block":
        return render.block(part.block, part.page ?? null).map((message) => ({ message, card: null }));
      case "card":
        return [{ message: render.card(part.card), card: part.card }];
      case "digest":
        return render.digest(part.heading, part.blocks, part.page ?? null).map((message) => ({ message, card: null }));
      default: {
        const never: never = part;
        return never;
      }
    }
  });
}

/** A reply in one line, for a toast or an ephemeral answer to a tap that recorded nothing (e.g. a merge conflict). */
export function replyInOneLine(reply: ChatReply): string {
  if (reply.kind === "text") return [reply.block.title, ...reply.block.lines].filter(Boolean).join(": ");
  return "Done";
}

/** Asks for an attempt's send-back notes; `hint` says how to answer on this platform. */
export function notesQuestion(ask: { taskId: number; title: string }, hint: string | null = null): string {
  return `Notes for #${ask.taskId} "${ask.title}"${hint ? ` ${hint}` : ""}:`;
}

/** The label of the notes field (a force-reply placeholder, a modal's input). */
export const NOTES_LABEL = "What should the agent change?";

/** The answer to a tap on a button whose data this version cannot read. */
export const STALE_BUTTON = "This button is no longer understood.";

/** What someone not on the platform's allowlist is told; with their id, which is what the owner needs. */
export function notAllowed(platform: Platform, userId: string | null = null): string {
  const refusal = `You are not allowed to act on this ChiefOfStaff. Ask its owner to add your user id to ${PLATFORMS[platform].allowlist}.`;
  return userId === null ? refusal : `${refusal}\nYour user id: ${userId}`;
}

/** The log line of a refused attempt: who, and what they tried. */
export function refusalLogLine(platform: Platform, who: string, what: string): string {
  return `${platform}: refused user ${who}: not in ${PLATFORMS[platform].allowlist}; ${what}`;
}
