import type { InlineKeyboardButton, InlineKeyboardMarkup } from "grammy/types";
import { cardText, type CardText, type RenderOptions } from "../../src/chat/card-text.ts";
import type { PartRenderer } from "../../src/chat/chat-text.ts";
import { formatTime, parseVerdictData, verdictData } from "../../src/chat/format.ts";
import { plainPeople } from "../../src/app/people.ts";
import { hintsFor } from "../../src/shared/hints.ts";
import type { PageButton, ReviewCard, TextBlock } from "../../src/chat/types.ts";
import { partMessages } from "../part-messages.ts";

export { formatTime, parseVerdictData, verdictData, type RenderOptions };

/** Where the message goes decides how a review page opens: Telegram allows Mini App buttons in private chats only. */
export interface TelegramRenderOptions extends RenderOptions {
  /** A private chat (the bot and one person): page buttons open the page inside Telegram, as a Mini App. Default: no. */
  privateChat?: boolean;
}

/** A private chat's id is its person's, positive; groups and channels have negative ids. */
export const isPrivateChat = (chatId: number | string) => Number(chatId) > 0;

// The chat's parts (src/chat/chat-text.ts, card-text.ts) as Telegram HTML. Pure: no API calls, no
// store, no words of its own. Telegram's HTML mode needs only & < > escaped; every other character, emoji included, goes through as it is. A message holds at most
// 4,096 characters, so text is split on line boundaries, and a line longer than that is cut between
// code points, never inside an escape.

export const MESSAGE_LIMIT = 4096;

export interface OutMessage {
  html: string;
  keyboard: InlineKeyboardMarkup | null;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
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
  // People are named by their first name here (Telegram has no mention of a Slack user, nor needs one).
  for (const line of plainPeople(raw).replace(/\r\n?/g, "\n").split("\n")) {
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

export function blockMessages(block: TextBlock, page: PageButton | null = null, privateChat = false): OutMessage[] {
  return withPageButton(splitMessages(blockFragments(block)).map((html) => ({ html, keyboard: null })), page, privateChat);
}

/**
 * A review page's button: a Mini App (`web_app`) in a private chat when the page is https (both are
 * Telegram's conditions), else a plain link that opens the browser.
 */
export function pageButton(page: PageButton, privateChat: boolean): InlineKeyboardButton {
  return privateChat && page.url.startsWith("https://") ? { text: page.label, web_app: { url: page.url } } : { text: page.label, url: page.url };
}

/** Puts the page's button under the last message. */
function withPageButton(messages: OutMessage[], page: PageButton | null, privateChat: boolean): OutMessage[] {
  const last = messages.at(-1);
  if (!page || !last) return messages;
  return [...messages.slice(0, -1), { ...last, keyboard: { inline_keyboard: [[pageButton(page, privateChat)]] } }];
}

/** A review card: one message with the three buttons while open, none once decided; its review page's button under them. */
export function cardMessage(card: ReviewCard, options: TelegramRenderOptions): OutMessage {
  const text = cardText(card, options, hintsFor("telegram"));
  const head = [`<b>${escapeHtml(text.title)}</b>`, ...text.facts.map(escapeHtml)];
  const tail: string[] = [];
  if (text.rest) tail.push(`<i>${escapeHtml(text.rest)}</i>`);
  if (text.verdict) tail.push(`<b>${escapeHtml(plainPeople(text.verdict))}</b>`);
  if (text.timer) tail.push(escapeHtml(text.timer));
  head.push(...failedCheckBlocks(text.failedChecks, MESSAGE_LIMIT - [...head, ...tail].join("\n").length - 200));
  // The summary gets what the head and tail leave of the message, cut on an escape boundary.
  const fixed = [...head, ...tail].join("\n").length + 2;
  const summary = fitEscaped(text.summary, MESSAGE_LIMIT - fixed);
  const html = [...head, "", summary, ...(tail.length ? ["", ...tail] : [])].join("\n");
  const rows: InlineKeyboardButton[][] = [];
  if (text.buttons.length) rows.push(text.buttons.map((b) => ({ text: b.label, callback_data: b.data })));
  if (text.page) rows.push([pageButton(text.page, options.privateChat ?? false)]);
  return { html, keyboard: rows.length ? { inline_keyboard: rows } : null };
}

/** Each failed check's title and last lines (a <pre> block), its oldest lines dropped when they would not fit `room`. */
function failedCheckBlocks(checks: CardText["failedChecks"], room: number): string[] {
  const out: string[] = [];
  for (const check of checks) {
    const title = `<b>${escapeHtml(check.title)}</b>`;
    room -= title.length + 2;
    out.push("", title);
    const lines = [...check.lines];
    while (lines.length && escapeHtml(lines.join("\n")).length + 12 > room) lines.shift();
    if (!lines.length) continue;
    const pre = `<pre>${escapeHtml(lines.join("\n"))}</pre>`;
    room -= pre.length + 1;
    out.push(pre);
  }
  return out;
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

/** Telegram's way to show each part: text split at 4,096 characters, one message per card. */
const telegramParts = (options: TelegramRenderOptions): PartRenderer<OutMessage> => ({
  block: (block, page) => blockMessages(block, page, options.privateChat ?? false),
  card: (card) => cardMessage(card, options),
  digest: (heading, blocks, page) =>
    withPageButton(
      splitMessages([...htmlLines(heading, "b"), ...blocks.flatMap((b) => ["", ...blockFragments(b)])]).map((html) => ({ html, keyboard: null })),
      page,
      options.privateChat ?? false,
    ),
});

export const { replyMessages, notificationMessages, notificationMessagesTracked, replyMessagesTracked } = partMessages(telegramParts);
