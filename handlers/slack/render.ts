import { cardText, clip, type CardAction, type RenderOptions } from "../../src/chat/card-text.ts";
import { NOTES_LABEL, type PartRenderer } from "../../src/chat/chat-text.ts";
import { parseVerdictData, verdictData } from "../../src/chat/format.ts";
import { plainName, platformUser, showPeople } from "../../src/app/people.ts";
import { hintsFor } from "../../src/shared/hints.ts";
import type { PageButton, ReviewCard, TextBlock } from "../../src/chat/types.ts";
import { partMessages } from "../part-messages.ts";

// The chat's parts (src/chat/chat-text.ts, card-text.ts) as Block Kit. Pure, and no words of its
// own. Slack's limits: 50 blocks a message, 3,000 characters in a section's text; mrkdwn needs only
// & < > escaped. Long text is split on line boundaries into sections, and sections into messages.

export const MAX_BLOCKS = 50;
export const SECTION_LIMIT = 3000;

/** Button ids are Telegram's callback data (`v:<a|s|d>:<task>:<attempt>`): one format, parsed in one place. */
export { parseVerdictData, verdictData };

export type Block = Record<string, unknown>;

export interface SlackMessage {
  /** The notification text (and the fallback where blocks cannot show). */
  text: string;
  blocks: Block[];
}

export type { RenderOptions };

export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

/**
 * Escaped mrkdwn in which each person is named as Slack does: a Slack user by a mention (Slack shows
 * their current name), anyone else by name. People are put in after escaping, so only they can mention.
 */
export function mrkdwn(text: string): string {
  return showPeople(escapeMrkdwn(text), (person) => {
    const user = platformUser(person.actor, "slack");
    return user && /^[A-Z0-9]+$/.test(user) ? `<@${user}>` : escapeMrkdwn(plainName(person));
  });
}

/** Escaped mrkdwn lines, each cut so that it fits a section on its own. */
function mrkdwnLines(raw: string, bold = false): string[] {
  const out: string[] = [];
  const room = SECTION_LIMIT - (bold ? 2 : 0);
  for (const line of raw.replace(/\r\n?/g, "\n").split("\n")) {
    let piece = "";
    // A person's mark is one unit: a mention is never cut in two.
    for (const ch of line.split(/(\uE000[^\uE002]*\uE002)|/u).filter((c) => c !== undefined && c !== "")) {
      const e = mrkdwn(ch);
      if (piece.length + e.length > room) {
        out.push(piece);
        piece = "";
      }
      piece += e;
    }
    out.push(bold && piece.trim() ? `*${piece}*` : piece);
  }
  return out;
}

/** Joins lines into sections of at most SECTION_LIMIT characters. */
function sections(lines: string[]): Block[] {
  const texts: string[] = [];
  let current: string | null = null;
  for (const line of lines) {
    if (current === null) current = line;
    else if (current.length + 1 + line.length <= SECTION_LIMIT) current += `\n${line}`;
    else {
      texts.push(current);
      current = line;
    }
  }
  if (current !== null && current.trim()) texts.push(current);
  return texts.filter((t) => t.trim()).map((text) => ({ type: "section", text: { type: "mrkdwn", text } }));
}

function blockLines(block: TextBlock): string[] {
  return [...(block.title ? mrkdwnLines(block.title, true) : []), ...block.lines.flatMap((l) => mrkdwnLines(l))];
}

/** Packs blocks into messages of at most MAX_BLOCKS; `text` is the first message's notification text. */
function pack(blocks: Block[], text: string): SlackMessage[] {
  const out: SlackMessage[] = [];
  for (let i = 0; i < blocks.length; i += MAX_BLOCKS) out.push({ text: clip(showPeople(text, plainName), 300), blocks: blocks.slice(i, i + MAX_BLOCKS) });
  return out;
}

export function blockMessages(block: TextBlock, page: PageButton | null = null): SlackMessage[] {
  return pack([...sections(blockLines(block)), ...pageActions(page)], block.title ?? block.lines[0] ?? "ChiefOfStaff");
}

/** The action id of a review page's link button: Slack sends a tap on it to the app too, which only acknowledges it. */
export const PAGE_ACTION_ID = "page:open";

/** A link button opening a review page in the browser. */
function pageLinkButton(page: PageButton): Block {
  return { type: "button", text: { type: "plain_text", text: page.label, emoji: true }, url: page.url, action_id: PAGE_ACTION_ID };
}

const pageActions = (page: PageButton | null): Block[] => (page ? [{ type: "actions", elements: [pageLinkButton(page)] }] : []);

const BUTTON_STYLE: Record<CardAction, "primary" | "danger" | null> = { approve: "primary", send_back: null, discard: "danger" };

/** A review card: sections, then the three buttons while open, or the verdict once decided. */
export function cardMessage(card: ReviewCard, options: RenderOptions): SlackMessage {
  const text = cardText(card, options, hintsFor("slack"));
  let summary = "";
  for (const line of mrkdwnLines(text.summary)) {
    if (summary.length + line.length + 2 > SECTION_LIMIT - 1) {
      summary += "…";
      break;
    }
    summary += summary ? `\n${line}` : line;
  }
  const blocks: Block[] = [
    { type: "section", text: { type: "mrkdwn", text: [`*${escapeMrkdwn(text.title)}*`, ...text.facts.map(escapeMrkdwn)].join("\n") } },
    ...text.failedChecks.map((check) => ({
      type: "section",
      text: { type: "mrkdwn", text: [`*${escapeMrkdwn(check.title)}*`, ...(check.lines.length ? ["```", ...check.lines.map(escapeMrkdwn), "```"] : [])].join("\n") },
    })),
    { type: "section", text: { type: "mrkdwn", text: summary || " " } },
  ];
  const context: string[] = [];
  if (text.rest) context.push(escapeMrkdwn(text.rest));
  if (text.timer) context.push(escapeMrkdwn(text.timer));
  if (context.length) blocks.push({ type: "context", elements: context.map((t) => ({ type: "mrkdwn", text: t })) });
  if (text.verdict) blocks.push({ type: "section", text: { type: "mrkdwn", text: `*${mrkdwn(text.verdict)}*` } });
  const elements: Block[] = text.buttons.map((b) => ({
    type: "button",
    text: { type: "plain_text", text: b.label, emoji: true },
    action_id: b.data,
    value: b.data,
    ...(BUTTON_STYLE[b.action] ? { style: BUTTON_STYLE[b.action] } : {}),
  }));
  if (text.page) elements.push(pageLinkButton(text.page));
  if (elements.length) blocks.push({ type: "actions", block_id: `${text.buttons.length ? "verdict" : "page"}:${card.taskId}:${card.attempt}`, elements });
  return { text: `${text.title}${text.verdict ? ` (${showPeople(text.verdict, plainName)})` : ""}`, blocks };
}

/** Slack's way to show each part: sections packed into messages of 50 blocks, one message per card. */
const slackParts = (options: RenderOptions): PartRenderer<SlackMessage> => ({
  block: (block, page) => blockMessages(block, page),
  card: (card) => cardMessage(card, options),
  digest: (heading, blocks, page) => {
    const out: Block[] = [{ type: "section", text: { type: "mrkdwn", text: `*${escapeMrkdwn(heading)}*` } }];
    for (const b of blocks) out.push({ type: "divider" }, ...sections(blockLines(b)));
    return pack([...out, ...pageActions(page)], heading);
  },
});

export const { replyMessages, notificationMessages, notificationMessagesTracked, replyMessagesTracked } = partMessages(slackParts);

/** The modal asking for send-back notes; `metadata` travels back in the submission. */
export function notesModal(question: string, metadata: string): Block {
  return {
    type: "modal",
    callback_id: "cos_send_back",
    private_metadata: metadata,
    title: { type: "plain_text", text: "Send back" },
    submit: { type: "plain_text", text: "Send back" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: escapeMrkdwn(clip(question, SECTION_LIMIT)) } },
      {
        type: "input",
        block_id: "notes",
        label: { type: "plain_text", text: NOTES_LABEL },
        element: { type: "plain_text_input", action_id: "notes", multiline: true },
      },
    ],
  };
}
