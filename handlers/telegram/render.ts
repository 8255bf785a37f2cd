import type { InlineKeyboardMarkup } from "grammy/types";
import type { ChatReply, Notification, ReviewCard, TextBlock } from "../../src/chat/types.ts";
import { formatTime, parseVerdictData, verdictData } from "../../src/chat/format.ts";

export { formatTime, parseVerdictData, verdictData };

// View models (ChatReply, Notification) to Telegram HTML. Pure: no API calls, no store. Telegram's HTML
// mode needs only & < > escaped (and " inside attributes); every other character, emoji included,
// goes through as it is. A message holds at most 4,096 characters, so text is split on line
// boundaries, and a line longer than that is cut between code points, never inside an escape.

export const MESSAGE_LIMIT = 4096;
const TITLE_MAX = 300;
const NOTES_MAX = 600;

export interface OutMessage {
  html: string;
  keyboard: InlineKeyboardMarkup | null;
}

export interface RenderOptions {
  /** IANA zone for times shown on cards (the digest's timezone). */
  timezone: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, "&quot;");
}

/**
 * Escaped, optionally wrapped lines of `raw`, each cut so that it fits a message on its own. `wrap`
 * tags are applied per piece, so every fragment is balanced and can end a message.
 */
export function htmlLines(raw: string, wrap: "b" | "i" | "code" | null = null, limit = MESSAGE_LIMIT): string[] {
  const open = wrap ? `<${wrap}>` : "";
  const close = wrap ? `</${wrap}>` : "";
  const room = limit - open.length - close.length;
  const out: string[] = [];
  for (const line of raw.replace(/\r\n?/g, "\n").split("\n")) {
    for (const piece of cutToFit(line, room)) out.push(`${open}${escapeHtml(piece)}${close}`);
  }
  return out;
}

/** Cuts `raw` into pieces whose escaped length is at most `room`, preferring to cut after a space. */
function cutToFit(raw: string, room: number): string[] {
  if (escapeHtml(raw).length <= room) return [raw];
  const pieces: string[] = [];
  let piece = "";
  let size = 0;
  let lastSpace = -1;
  for (const ch of raw) {
    const cost = escapeHtml(ch).length;
    if (size + cost > room) {
      // A space in the second half of the piece is a kinder cut than the middle of a word.
      if (lastSpace > piece.length / 2) {
        pieces.push(piece.slice(0, lastSpace + 1));
        piece = piece.slice(lastSpace + 1);
        size = escapeHtml(piece).length;
      } else {
        pieces.push(piece);
        piece = "";
        size = 0;
      }
      lastSpace = -1;
    }
    piece += ch;
    size += cost;
    if (ch === " ") lastSpace = piece.length - 1;
  }
  if (piece) pieces.push(piece);
  return pieces;
}

/** Joins balanced fragments with newlines into messages of at most `limit` characters. */
export function splitMessages(fragments: string[], limit = MESSAGE_LIMIT): string[] {
  const messages: string[] = [];
  let current = "";
  for (const fragment of fragments) {
    if (!current) current = fragment;
    else if (current.length + 1 + fragment.length <= limit) current += `\n${fragment}`;
    else {
      messages.push(current);
      current = fragment;
    }
  }
  if (current.trim()) messages.push(current);
  return messages.length ? messages : [];
}

export function blockFragments(block: TextBlock): string[] {
  return [...(block.title ? htmlLines(block.title, "b") : []), ...block.lines.flatMap((l) => htmlLines(l))];
}

export function blockMessages(block: TextBlock): OutMessage[] {
  return splitMessages(blockFragments(block)).map((html) => ({ html, keyboard: null }));
}

/** Cuts `raw` to at most `max` code points, marking the cut. */
function clip(raw: string, max: number): string {
  const points = Array.from(raw);
  return points.length <= max ? raw : `${points.slice(0, max - 1).join("")}…`;
}

function decidedLine(card: ReviewCard): string | null {
  const d = card.decided;
  if (!d) return null;
  switch (d.verdict) {
    case "approved":
      return `✅ Approved by ${d.by}${d.notes ? `: ${clip(d.notes, NOTES_MAX)}` : ""}`;
    case "sent_back":
      return `↩️ Sent back by ${d.by}${d.notes ? `: ${clip(d.notes, NOTES_MAX)}` : ""}`;
    case "discarded":
      return `🗑 Discarded by ${d.by}${d.notes ? `: ${clip(d.notes, NOTES_MAX)}` : ""}`;
    case "auto_approved":
      return "✅ Approved on its own (tier timer)";
    default: {
      const never: never = d.verdict;
      return never;
    }
  }
}

/** A review card: one message with the three buttons while undecided, none once decided. */
export function cardMessage(card: ReviewCard, options: RenderOptions): OutMessage {
  const head = [
    `<b>${escapeHtml(clip(`#${card.taskId} ${card.title}`, TITLE_MAX))}</b>`,
    escapeHtml(`${card.agent} · ${card.type} · tier ${card.tier} · attempt ${card.attempt}`),
  ];
  if (card.diffStat) {
    const s = card.diffStat;
    head.push(escapeHtml(`diff: ${s.files} file${s.files === 1 ? "" : "s"}, +${s.insertions} −${s.deletions}`));
  }
  const tail: string[] = [];
  if (card.diffUrl) tail.push(`<a href="${escapeAttribute(card.diffUrl)}">Open the diff</a>`);
  const decided = decidedLine(card);
  if (decided) tail.push(`<b>${escapeHtml(decided)}</b>`);
  else if (card.autoApproveAt) tail.push(escapeHtml(`⏱ Approved on its own at ${formatTime(card.autoApproveAt, options.timezone)} unless you decide first.`));
  // The summary gets what the head and tail leave of the message, cut on an escape boundary.
  const fixed = [...head, ...tail].join("\n").length + 2;
  const summary = fitEscaped(card.summary.trim() || "(no summary)", MESSAGE_LIMIT - fixed);
  const html = [...head, "", summary, ...(tail.length ? ["", ...tail] : [])].join("\n");
  const keyboard: InlineKeyboardMarkup | null = decided
    ? null
    : {
        inline_keyboard: [
          [
            { text: "✅ Approve", callback_data: verdictData("approve", card.taskId, card.attempt) },
            { text: "↩️ Send back", callback_data: verdictData("send_back", card.taskId, card.attempt) },
            { text: "🗑 Discard", callback_data: verdictData("discard", card.taskId, card.attempt) },
          ],
        ],
      };
  return { html, keyboard };
}

/** The escaped text, cut (with a mark) so that it is at most `room` characters. */
function fitEscaped(raw: string, room: number): string {
  const escaped = escapeHtml(raw);
  if (escaped.length <= room) return escaped;
  let out = "";
  for (const ch of raw) {
    const next = escapeHtml(ch);
    if (out.length + next.length > room - 2) break;
    out += next;
  }
  return `${out}…`;
}

/** What a chat reply looks like as messages (taps, files and questions are sent by the bot itself). */
export function replyMessages(reply: Extract<ChatReply, { kind: "text" | "cards" }>, options: RenderOptions): OutMessage[] {
  switch (reply.kind) {
    case "text":
      return blockMessages(reply.block);
    case "cards":
      return [...(reply.intro ? blockMessages(reply.intro) : []), ...reply.cards.map((c) => cardMessage(c, options))];
    default: {
      const never: never = reply;
      return never;
    }
  }
}

/** The messages of a notification; `card_update` is an edit and is handled by the transport. */
export function notificationMessages(n: Notification, options: RenderOptions): OutMessage[] {
  switch (n.kind) {
    case "review_card":
    case "card_update":
      return [cardMessage(n.card, options)];
    case "trust_change":
      return blockMessages({ title: n.block.title ? `⚖️ ${n.block.title}` : null, lines: n.block.lines });
    case "failure":
      return blockMessages({ title: n.block.title ? `❌ ${n.block.title}` : null, lines: n.block.lines });
    case "held":
      return blockMessages({ title: n.block.title ? `⏸ ${n.block.title}` : null, lines: n.block.lines });
    case "digest": {
      const fragments = [
        ...htmlLines("☀️ Digest", "b"),
        ...n.blocks.flatMap((b) => ["", ...blockFragments(b)]),
      ];
      return [...splitMessages(fragments).map((html) => ({ html, keyboard: null })), ...n.cards.map((c) => cardMessage(c, options))];
    }
    default: {
      const never: never = n;
      return never;
    }
  }
}
