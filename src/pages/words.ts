import type { AppContext } from "../app/context.ts";
import { plainPeople } from "../app/people.ts";
import { cardText, type CardText } from "../chat/card-text.ts";
import type { ReviewCard } from "../chat/types.ts";
import { configuredPlatforms } from "../config/platforms.ts";
import { hintsFor, type Hints } from "../shared/hints.ts";

// How the review pages word what the chat words: a page is opened from a chat, so the ways out it offers
// are that chat's commands (`/cancel 9`), and people are named as the chat names them, in plain text.

/** The commands of the chat the pages are opened from (the first platform configured), else the CLI's. */
export function pageHints(ctx: AppContext): Hints {
  const platform = configuredPlatforms(ctx.env)[0];
  return hintsFor(platform ?? "cli");
}

/** A card's words (DESIGN §10) as a page shows them: the chat's, with people by name. */
export function cardWords(ctx: AppContext, card: ReviewCard): CardText {
  const text = cardText(card, { timezone: ctx.config.digest.timezone }, pageHints(ctx));
  return { ...text, verdict: text.verdict === null ? null : plainPeople(text.verdict), rest: null };
}
