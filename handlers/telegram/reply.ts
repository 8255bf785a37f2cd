import { GrammyError, InputFile, type Context } from "grammy";
import { replyInOneLine, notesQuestion, NOTES_LABEL } from "../../src/chat/chat-text.ts";
import { cardAt, saveMessageRef, saveNotesQuestion } from "../../src/chat/message-refs.ts";
import type { PlatformDeps } from "../../src/chat/platform-startup.ts";
import type { ChatReply } from "../../src/chat/types.ts";
import { cardMessage, escapeHtml, isPrivateChat, replyMessages, replyMessagesTracked, type OutMessage } from "./render.ts";
import { messageRef } from "./transport.ts";

// A ChatReply as Telegram calls: messages in the chat a command came from, a toast and an edited
// card for a tap, a force-reply question, a document. Rendering is render.ts's; nothing is decided here.

/** How Telegram's force-reply question says to answer it. */
const REPLY_HINT = "(reply to this message)";

const sendOptions = (m: OutMessage) => ({
  parse_mode: "HTML" as const,
  link_preview_options: { is_disabled: true },
  ...(m.keyboard ? { reply_markup: m.keyboard } : {}),
});

/** Sends a reply to a message in the chat it came from. */
export async function respond(deps: PlatformDeps, c: Context, reply: ChatReply): Promise<void> {
  const chatId = c.chat!.id;
  switch (reply.kind) {
    case "text":
    case "cards":
      for (const { message: m, card } of replyMessagesTracked(reply, { ...deps.render, privateChat: isPrivateChat(chatId) })) {
        const sent = await c.api.sendMessage(chatId, m.html, sendOptions(m));
        // A copy of a card (`/review`, `/digest`) is edited by its verdict like the outbox's own.
        if (card) await deps.ctx.db.write((tx) => saveMessageRef(tx, "telegram", card.taskId, card.attempt, messageRef(chatId, sent.message_id)));
      }
      return;
    case "tap_answer":
      await c.api.sendMessage(chatId, escapeHtml(reply.toast), { parse_mode: "HTML" });
      return;
    case "ask_notes":
      await askNotes(deps, c, reply);
      return;
    case "file":
      await c.api.sendDocument(chatId, new InputFile(Buffer.from(reply.content, "utf8"), reply.name), { caption: reply.caption.slice(0, 1024) });
      return;
    default: {
      const never: never = reply;
      return never;
    }
  }
}

/**
 * Answers a button tap: a toast, and the tapped card shown where it stands now. A card the outbox
 * knows is edited by the verdict's card update, with every other copy of it, so the tap edits only a
 * card it does not know (or every card, when this platform gets no notifications): one edit per card.
 */
export async function answerTap(deps: PlatformDeps, c: Context, reply: ChatReply): Promise<void> {
  const message = c.callbackQuery?.message;
  switch (reply.kind) {
    case "tap_answer": {
      await c.answerCallbackQuery({ text: reply.toast });
      if (!message) return;
      if (deps.notifies && (await cardAt(deps.ctx, "telegram", messageRef(message.chat.id, message.message_id)))) return;
      if (reply.card) {
        const card = cardMessage(reply.card, { ...deps.render, privateChat: isPrivateChat(message.chat.id) });
        await ignoreUnchanged(
          c.api.editMessageText(message.chat.id, message.message_id, card.html, {
            parse_mode: "HTML",
            link_preview_options: { is_disabled: true },
            reply_markup: card.keyboard ?? { inline_keyboard: [] },
          }),
        );
      } else {
        // A card of an earlier attempt: it can decide nothing any more, so it loses its buttons.
        await ignoreUnchanged(c.api.editMessageReplyMarkup(message.chat.id, message.message_id, { reply_markup: { inline_keyboard: [] } }));
      }
      return;
    }
    case "ask_notes":
      await c.answerCallbackQuery({ text: "Reply to the question with your notes" });
      await askNotes(deps, c, reply);
      return;
    default: {
      // A refusal (e.g. a merge conflict): the toast shows its start, the chat gets all of it.
      const privateChat = message ? isPrivateChat(message.chat.id) : false;
      const messages = reply.kind === "text" || reply.kind === "cards" ? replyMessages(reply, { ...deps.render, privateChat }) : [];
      await c.answerCallbackQuery({ text: replyInOneLine(reply).slice(0, 190), show_alert: true });
      if (message) for (const m of messages) await c.api.sendMessage(message.chat.id, m.html, sendOptions(m));
    }
  }
}

/** Asks for send-back notes with a force-reply, remembering which attempt the answer belongs to. */
async function askNotes(deps: PlatformDeps, c: Context, reply: Extract<ChatReply, { kind: "ask_notes" }>): Promise<void> {
  const chatId = c.chat!.id;
  const sent = await c.api.sendMessage(chatId, escapeHtml(notesQuestion(reply, REPLY_HINT)), {
    parse_mode: "HTML",
    reply_markup: { force_reply: true, input_field_placeholder: NOTES_LABEL },
  });
  await saveNotesQuestion(deps.ctx, "telegram", messageRef(chatId, sent.message_id), reply);
}

async function ignoreUnchanged(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (error instanceof GrammyError && /message is not modified|message to edit not found|message can't be edited/i.test(error.description)) return;
    throw error;
  }
}
