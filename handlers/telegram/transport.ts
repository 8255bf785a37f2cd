import { GrammyError, HttpError, type Api } from "grammy";
import type { Notification } from "../../src/chat/types.ts";
import { DeliveryError, type Transport } from "../../src/outbox/outbox.ts";
import { isPrivateChat, notificationMessages, type OutMessage, type RenderOptions } from "./render.ts";

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
   * Sends the parts in order. Once the first part is out, a failure of a later one is retried here
   * (honouring retry_after) rather than by the outbox, which would send the first parts again.
   */
  async function sendAll(messages: OutMessage[]): Promise<number | null> {
    let firstId: number | null = null;
    for (const [i, m] of messages.entries()) {
      for (let attempt = 0; ; attempt++) {
        try {
          const sent = await send(options.chatId, m);
          firstId ??= sent.message_id;
          break;
        } catch (error) {
          const delivery = toDeliveryError(error);
          const wait = delivery.retryAfterMs ?? 1000 * 2 ** attempt;
          if (i === 0 || delivery.permanent || attempt >= INLINE_RETRIES || wait > INLINE_WAIT_MAX_MS) throw delivery;
          await sleep(wait);
        }
      }
    }
    return firstId;
  }

  return {
    platform: "telegram",
    async deliver(notification: Notification, ref: string | null): Promise<{ ref: string | null }> {
      const messages = notificationMessages(notification, { ...options, privateChat: isPrivateChat(options.chatId) });
      if (notification.kind === "card_update" && ref) {
        const [chatId, messageId] = splitRef(ref);
        const card = messages[0]!;
        try {
          await api.editMessageText(chatId, messageId, card.html, {
            parse_mode: "HTML",
            link_preview_options: { is_disabled: true },
            reply_markup: card.keyboard ?? { inline_keyboard: [] },
          });
          return { ref };
        } catch (error) {
          // The tap already edited the card to this very text: that is a delivery.
          if (error instanceof GrammyError && /message is not modified/i.test(error.description)) return { ref };
          // The card was deleted or is too old to edit: post the decided card afresh.
          if (!(error instanceof GrammyError && /message to edit not found|message can't be edited/i.test(error.description))) {
            throw toDeliveryError(error);
          }
        }
      }
      const firstId = await sendAll(messages);
      return { ref: notification.kind === "review_card" && firstId !== null ? messageRef(options.chatId, firstId) : null };
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
