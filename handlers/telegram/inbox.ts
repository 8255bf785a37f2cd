import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Hono } from "hono";
import type { Update } from "grammy/types";
import type { AppContext } from "../../src/app/context.ts";
import { ChatInbox } from "../../src/chat/inbox.ts";

/** Telegram's inbox: the shared chat inbox, keyed and ordered by update_id. */
export class TelegramInbox extends ChatInbox<Update> {
  constructor(
    ctx: AppContext,
    handle: (update: Update) => Promise<void>,
    log: (line: string) => void,
    afterHandle: (appended: boolean) => void = () => {},
  ) {
    super(ctx, "telegram", handle, log, afterHandle, "numeric");
  }

  /** Stores the updates (once each) and resolves when they are committed; handling follows. */
  async receiveUpdates(updates: Update[]): Promise<void> {
    await this.receive(updates.map((u) => ({ key: String(u.update_id), payload: u })));
  }
}

/** Compares secrets in constant time, whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

const MAX_BODY = 1_000_000;

/**
 * `POST /telegram/webhook` (DESIGN §10): 401 unless `X-Telegram-Bot-Api-Secret-Token` matches, and
 * then nothing is read or stored; 200 as soon as the update is committed to the inbox.
 */
export function mountWebhook(app: Hono, secret: string | undefined, inbox: TelegramInbox): void {
  app.post("/telegram/webhook", async (c: Context) => {
    const given = c.req.header("x-telegram-bot-api-secret-token") ?? "";
    if (!secret || !given || !sameSecret(given, secret)) {
      return c.json({ error: { code: "unauthorized", message: "missing or wrong X-Telegram-Bot-Api-Secret-Token" } }, 401);
    }
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_BODY) return c.json({ error: { code: "validation", message: "update too large" } }, 413);
    let update: unknown;
    try {
      update = await c.req.json();
    } catch {
      return c.json({ error: { code: "validation", message: "the body must be a JSON update" } }, 400);
    }
    const id = (update as { update_id?: unknown } | null)?.update_id;
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
      return c.json({ error: { code: "validation", message: "an update needs a whole-number update_id" } }, 400);
    }
    await inbox.receiveUpdates([update as Update]);
    return c.json({ ok: true });
  });
}
