import type { AppContext } from "../app/context.ts";
import { buildDigest, digestHeading, digestSince } from "../app/digest.ts";
import { lastDigestTime } from "../app/digest-time.ts";
import type { Platform } from "../chat/types.ts";
import { digestView } from "../chat/views.ts";
import { notifiedPlatforms } from "../config/platforms.ts";
import { hintsFor } from "../shared/hints.ts";
import { enqueue } from "./outbox.ts";

// The daily digest is due once the configured time (digest.cron in digest.timezone) has passed today,
// and it is sent once per day and platform, whoever notices first: the cron of `cos serve`, the start
// of `cos serve` after a night it was down (a missed digest is sent then, once), or `POST /cron/tick`
// from a platform's scheduler. The outbox's dedupe key (per platform and day) makes "once" hold across
// processes.

/** The day a digest time belongs to, in the digest's timezone: its dedupe key. */
function dayOf(ctx: AppContext, at: Date): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: ctx.config.digest.timezone, year: "numeric", month: "2-digit", day: "2-digit" }).format(at);
}

/**
 * Enqueues the digest that is due and not sent yet, for each platform given (every notified one by
 * default); answers the platforms it was enqueued for. A store with nothing in it before the digest's
 * time gets none: a first start is not a missed morning.
 */
export async function enqueueDueDigests(ctx: AppContext, platforms: Platform[] = notifiedPlatforms(ctx.env)): Promise<Platform[]> {
  const now = ctx.clock();
  const due = lastDigestTime(ctx, now);
  if (!due || !platforms.length) return [];
  const day = dayOf(ctx, due);
  const before = await ctx.db.query("SELECT 1 FROM events WHERE json_extract(meta, '$.at') <= ? LIMIT 1", [due.toISOString()]);
  if (!before.length) return [];
  const enqueued: Platform[] = [];
  for (const platform of platforms) {
    const sent = await ctx.db.query("SELECT 1 FROM outbox WHERE dedupe_key = ?", [`${platform}:digest:${day}`]);
    if (sent.length) continue;
    const hints = hintsFor(platform);
    const digest = await buildDigest(ctx, digestSince(now), hints);
    const view = await digestView(ctx, digest);
    await enqueue(ctx, platform, { kind: "digest", heading: digestHeading(digest), blocks: view.blocks, cards: view.cards, page: view.page }, `digest:${day}`);
    enqueued.push(platform);
  }
  return enqueued;
}
