import type { Hono } from "hono";
import type { Update } from "grammy/types";
import { platformInbox } from "../../src/chat/inbox.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { bodyBound, requireToken } from "../http/guards.ts";

/** Telegram's inbox: the shared chat inbox, keyed and ordered by update_id. */
export class TelegramInbox extends platformInbox<Update>("telegram", "numeric") {
  /** Stores the updates (once each) and resolves when they are committed; handling follows. */
  async receiveUpdates(updates: Update[]): Promise<void> {
    await this.receive(updates.map((u) => ({ key: String(u.update_id), payload: u })));
  }
}

const MAX_BODY = 1_000_000;
const WRONG_SECRET = "missing or wrong X-Telegram-Bot-Api-Secret-Token";

/**
 * `POST /telegram/webhook` (DESIGN §10): 401 unless `X-Telegram-Bot-Api-Secret-Token` matches, and
 * then nothing is read or stored; 200 as soon as the update is committed to the inbox. Refusals are
 * thrown, for the HTTP app's onError to answer.
 */
export function mountWebhook(app: Hono, secret: string | undefined, inbox: TelegramInbox): void {
  app.post(
    "/telegram/webhook",
    requireToken({ token: secret, closed: WRONG_SECRET }, { message: WRONG_SECRET, headerName: "x-telegram-bot-api-secret-token", prefix: "" }),
    bodyBound(MAX_BODY, "update"),
    async (c) => {
      let update: unknown;
      try {
        update = await c.req.json();
      } catch {
        throw new ValidationError("the body must be a JSON update");
      }
      const id = (update as { update_id?: unknown } | null)?.update_id;
      if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) throw new ValidationError("an update needs a whole-number update_id");
      await inbox.receiveUpdates([update as Update]);
      return c.json({ ok: true });
    },
  );
}
