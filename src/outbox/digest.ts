import type { AppContext } from "../app/context.ts";
import { buildDigest, digestSince } from "../app/digest.ts";
import type { Platform } from "../chat/types.ts";
import { digestView } from "../chat/views.ts";
import { enqueue } from "./outbox.ts";

/** Enqueues today's digest (today in the digest's timezone) for a platform: once a day, however many processes tick. */
export async function enqueueDailyDigest(ctx: AppContext, platform: Platform = "telegram"): Promise<boolean> {
  const now = ctx.clock();
  const day = new Intl.DateTimeFormat("en-CA", { timeZone: ctx.config.digest.timezone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  const existing = await ctx.db.query("SELECT 1 FROM outbox WHERE dedupe_key = ?", [`${platform}:digest:${day}`]);
  if (existing.length) return false;
  const digest = await buildDigest(ctx, digestSince(now));
  const view = await digestView(ctx, digest);
  await enqueue(ctx, platform, { kind: "digest", blocks: view.blocks, cards: view.cards, page: view.page }, `digest:${day}`);
  return true;
}
