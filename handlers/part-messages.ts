import { notificationParts, renderParts, renderPartsTracked, replyParts, type PartRenderer, type ShownReply } from "../src/chat/chat-text.ts";
import type { Notification } from "../src/chat/types.ts";

/**
 * A platform's messages for replies and notifications, from its way to show each part: every
 * platform's render.ts exports these four, so that what is shown, and in which order, is decided once
 * (src/chat/chat-text.ts) and only the markup is the platform's.
 */
export function partMessages<Options, Message>(platformParts: (options: Options) => PartRenderer<Message>) {
  return {
    /** What a chat reply looks like as messages (taps, files and questions are sent by the bot itself). */
    replyMessages: (reply: ShownReply, options: Options): Message[] => renderParts(replyParts(reply), platformParts(options)),
    /** The messages of a notification; `card_update` is an edit and is handled by the transport. */
    notificationMessages: (n: Notification, options: Options): Message[] => renderParts(notificationParts(n), platformParts(options)),
    /** The messages of a notification, each with the card it shows, if any. */
    notificationMessagesTracked: (n: Notification, options: Options) => renderPartsTracked(notificationParts(n), platformParts(options)),
    /** The messages of a reply, each with the card it shows, if any (so that `/review`'s copies are edited too). */
    replyMessagesTracked: (reply: ShownReply, options: Options) => renderPartsTracked(replyParts(reply), platformParts(options)),
  };
}
