import type { ChatReply, Notification, ReviewCard, TextBlock } from "../../src/chat/types.ts";
import { formatTime, parseVerdictData, verdictData } from "../../src/chat/format.ts";

// View models (ChatReply, Notification) to Block Kit. Pure. Slack's limits: 50 blocks a message,
// 3,000 characters in a section's text; mrkdwn needs only & < > escaped. Long text is split on line
// boundaries into sections, and sections into messages.

export const MAX_BLOCKS = 50;
export const SECTION_LIMIT = 3000;
const TITLE_MAX = 300;
const NOTES_MAX = 600;

/** Button ids are Telegram's callback data (`v:<a|s|d>:<task>:<attempt>`): one format, parsed in one place. */
export { parseVerdictData, verdictData };

export type Block = Record<string, unknown>;

export interface SlackMessage {
  /** The notification text (and the fallback where blocks cannot show). */
  text: string;
  blocks: Block[];
}

export interface RenderOptions {
  timezone: string;
}

export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

function clip(raw: string, max: number): string {
  const points = Array.from(raw);
  return points.length <= max ? raw : `${points.slice(0, max - 1).join("")}…`;
}

/** Escaped mrkdwn lines, each cut so that it fits a section on its own. */
function mrkdwnLines(raw: string, bold = false): string[] {
  const out: string[] = [];
  const room = SECTION_LIMIT - (bold ? 2 : 0);
  for (const line of raw.replace(/\r\n?/g, "\n").split("\n")) {
    let piece = "";
    for (const ch of line) {
      const e = escapeMrkdwn(ch);
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
  for (let i = 0; i < blocks.length; i += MAX_BLOCKS) out.push({ text: clip(text, 300), blocks: blocks.slice(i, i + MAX_BLOCKS) });
  return out;
}

export function blockMessages(block: TextBlock): SlackMessage[] {
  return pack(sections(blockLines(block)), block.title ?? block.lines[0] ?? "ChiefOfStaff");
}

function decidedLine(card: ReviewCard): string | null {
  const d = card.decided;
  if (!d) return null;
  const notes = d.notes ? `: ${clip(d.notes, NOTES_MAX)}` : "";
  switch (d.verdict) {
    case "approved":
      return `✅ Approved by ${d.by}${notes}`;
    case "sent_back":
      return `↩️ Sent back by ${d.by}${notes}`;
    case "discarded":
      return `🗑 Discarded by ${d.by}${notes}`;
    case "auto_approved":
      return "✅ Approved on its own (tier timer)";
    default: {
      const never: never = d.verdict;
      return never;
    }
  }
}

/** A review card: sections, then the three buttons while undecided, or the verdict once decided. */
export function cardMessage(card: ReviewCard, options: RenderOptions): SlackMessage {
  const title = clip(`#${card.taskId} ${card.title}`, TITLE_MAX);
  const head = [`*${escapeMrkdwn(title)}*`, escapeMrkdwn(`${card.agent} · ${card.type} · tier ${card.tier} · attempt ${card.attempt}`)];
  if (card.diffStat) {
    const s = card.diffStat;
    head.push(escapeMrkdwn(`diff: ${s.files} file${s.files === 1 ? "" : "s"}, +${s.insertions} −${s.deletions}`));
  }
  const summary = mrkdwnLines(card.summary.trim() || "(no summary)");
  let summaryText = "";
  for (const line of summary) {
    if (summaryText.length + line.length + 2 > SECTION_LIMIT - 1) {
      summaryText += "…";
      break;
    }
    summaryText += summaryText ? `\n${line}` : line;
  }
  const blocks: Block[] = [
    { type: "section", text: { type: "mrkdwn", text: head.join("\n") } },
    { type: "section", text: { type: "mrkdwn", text: summaryText || " " } },
  ];
  const context: string[] = [];
  if (card.diffUrl) context.push(`<${card.diffUrl}|Open the diff>`);
  const decided = decidedLine(card);
  if (!decided && card.autoApproveAt) context.push(escapeMrkdwn(`⏱ Approved on its own at ${formatTime(card.autoApproveAt, options.timezone)} unless you decide first.`));
  if (context.length) blocks.push({ type: "context", elements: context.map((text) => ({ type: "mrkdwn", text })) });
  if (decided) blocks.push({ type: "section", text: { type: "mrkdwn", text: `*${escapeMrkdwn(decided)}*` } });
  else {
    const button = (label: string, action: "approve" | "send_back" | "discard", style?: "primary" | "danger") => ({
      type: "button",
      text: { type: "plain_text", text: label, emoji: true },
      action_id: verdictData(action, card.taskId, card.attempt),
      value: verdictData(action, card.taskId, card.attempt),
      ...(style ? { style } : {}),
    });
    blocks.push({
      type: "actions",
      block_id: `verdict:${card.taskId}:${card.attempt}`,
      elements: [button("✅ Approve", "approve", "primary"), button("↩️ Send back", "send_back"), button("🗑 Discard", "discard", "danger")],
    });
  }
  return { text: `${title}${decided ? ` (${decided})` : ""}`, blocks };
}

export function replyMessages(reply: Extract<ChatReply, { kind: "text" | "cards" }>, options: RenderOptions): SlackMessage[] {
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

export function notificationMessages(n: Notification, options: RenderOptions): SlackMessage[] {
  const titled = (emoji: string, b: TextBlock) => blockMessages({ title: b.title ? `${emoji} ${b.title}` : null, lines: b.lines });
  switch (n.kind) {
    case "review_card":
    case "card_update":
      return [cardMessage(n.card, options)];
    case "trust_change":
      return titled("⚖️", n.block);
    case "failure":
      return titled("❌", n.block);
    case "held":
      return titled("⏸", n.block);
    case "digest": {
      const blocks: Block[] = [{ type: "section", text: { type: "mrkdwn", text: "*☀️ Digest*" } }];
      for (const b of n.blocks) blocks.push({ type: "divider" }, ...sections(blockLines(b)));
      return [...pack(blocks, "☀️ Digest"), ...n.cards.map((c) => cardMessage(c, options))];
    }
    default: {
      const never: never = n;
      return never;
    }
  }
}

/** The modal asking for send-back notes; `metadata` travels back in the submission. */
export function notesModal(prompt: string, metadata: string): Block {
  return {
    type: "modal",
    callback_id: "cos_send_back",
    private_metadata: metadata,
    title: { type: "plain_text", text: "Send back" },
    submit: { type: "plain_text", text: "Send back" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: escapeMrkdwn(clip(prompt.replace(/ \(reply to this message\)/, ""), SECTION_LIMIT)) } },
      {
        type: "input",
        block_id: "notes",
        label: { type: "plain_text", text: "What should the agent change?" },
        element: { type: "plain_text_input", action_id: "notes", multiline: true },
      },
    ],
  };
}
