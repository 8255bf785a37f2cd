import { GrammyError, HttpError, type Api } from "grammy";
import type { Notification } from "../../src/chat/types.ts";
import { DeliveryError, editedInPlace, type Posted, type Transport } from "../../src/outbox/outbox.ts";
import { isPrivateChat, notificationMessagesTracked, type OutMessage, type RenderOptions } from "./render.ts";

export interface TransportOptions extends RenderOptions {
  chatId: string;
  /** Waits inside one delivery (between the parts of a split message); tests shorten it. */
  sleep?: (ms: number) => Promise<void>;
}

/** A pause this long or shorter is waited out inside a delivery rather than handed back to the outbox. */
const INLINE_WAIT_MAX_MS = 20_000;
const INLINE_RETRIES = 4;

/**
 * The outbox's Telegram transport (DESIGN §1). Review cards are sent with their buttons and their
 * message is remembered as "chatId:messageId" so that the verdict edits it in place; everything else
 * is sent as one or more HTML messages. Errors become DeliveryErrors: 429 carries Telegram's
 * retry_after, 5xx and network failures are retried by the outbox, other 4xx are permanent.
 */
export function telegramTransport(api: Api, options: TransportOptions): Transport {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));

  const send = (chatId: string, m: OutMessage) =>
    api.sendMessage(chatId, m.html, {
      parse_mode: "HTML",
      link_preview_options: { is_disabled: true },
      ...(m.keyboard ? { reply_markup: m.keyboard } : {}),
    });

  /**
   * Sends the parts in order, answering each one's message id. Once the first part is out, a failure of
   * a later one is retried here (honouring retry_after) rather than by the outbox, which would send the
   * first parts again.
   */
  async function sendAll(messages: OutMessage[]): Promise<number[]> {
    const ids: number[] = [];
    for (const [i, m] of messages.entries()) {
      for (let attempt = 0; ; attempt++) {
        try {
          ids.push((await send(options.chatId, m)).message_id);
          break;
        } catch (error) {
          const delivery = toDeliveryError(error);
          const wait = delivery.retryAfterMs ?? 1000 * 2 ** attempt;
          if (i === 0 || delivery.permanent || attempt >= INLINE_RETRIES || wait > INLINE_WAIT_MAX_MS) throw delivery;
          await sleep(wait);
        }
      }
    }
    return ids;
  }

  /** Edits the message at `ref` to `m`; false when it is gone or too old to edit. */
  async function edit(ref: string, m: OutMessage): Promise<boolean> {
    const [chatId, messageId] = splitRef(ref);
    try {
      await api.editMessageText(chatId, messageId, m.html, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        reply_markup: m.keyboard ?? { inline_keyboard: [] },
      });
      return true;
    } catch (error) {
      // Already showing this very text: that is an edit done.
      if (error instanceof GrammyError && /message is not modified/i.test(error.description)) return true;
      if (error instanceof GrammyError && /message to edit not found|message can't be edited/i.test(error.description)) return false;
      throw toDeliveryError(error);
    }
  }

  return {
    platform: "telegram",
    async deliver(notification: Notification, refs: string[]): Promise<{ posted: Posted[] }> {
      // A review page's button is a Mini App only in a private chat: each copy is drawn for the chat it is in.
      const render = (chatId: string) => notificationMessagesTracked(notification, { ...options, privateChat: isPrivateChat(chatId) });
      const tracked = render(options.chatId);
      // Every copy of a card deleted or too old to edit (or none posted): the decided card is posted afresh.
      if (await editedInPlace(notification, refs, (ref) => edit(ref, render(splitRef(ref)[0])[0]!.message))) return { posted: [] };
      const ids = await sendAll(tracked.map((t) => t.message));
      const posted: Posted[] = [];
      tracked.forEach((t, i) => {
        const ref = messageRef(options.chatId, ids[i]!);
        if (t.card) posted.push({ ref, taskId: t.card.taskId, attempt: t.card.attempt, kind: "card" });
      });
      if (notification.kind === "run_started" && ids[0] !== undefined) {
        posted.push({ ref: messageRef(options.chatId, ids[0]), taskId: notification.taskId, attempt: notification.attempt, kind: "run" });
      }
      return { posted };
    },
  };
}

/** Telegram's address of a message: "chatId:messageId". */
export const messageRef = (chatId: number | string, messageId: number) => `${chatId}:${messageId}`;

export function splitRef(ref: string): [string, number] {
  const at = ref.lastIndexOf(":");
  return [ref.slice(0, at), Number(ref.slice(at + 1))];
}

/** Telegram's answer as the outbox's kind of failure. */
export function toDeliveryError(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof GrammyError) {
    const message = `${error.method}: ${error.error_code} ${error.description}`;
    if (error.error_code === 429) {
      const seconds = error.parameters?.retry_after ?? 5;
      return new DeliveryError(message, seconds * 1000);
    }
    if (error.error_code >= 500) return new DeliveryError(message);
    // 400 (a message Telegram will never take) and 403 (the bot was blocked or removed) do not get
    // better by waiting; 401/404 (a wrong token) may once the operator fixes it.
    return new DeliveryError(message, null, error.error_code === 400 || error.error_code === 403);
  }
  if (error instanceof HttpError) return new DeliveryError(`network: ${error.message}`);
  return new DeliveryError(error instanceof Error ? error.message : String(error));
}
