import { createHmac, timingSafeEqual } from "node:crypto";
import { ForbiddenError, UnauthorizedError } from "../shared/errors.ts";

// Telegram's signed `initData`, which a Mini App gets when it opens (DESIGN §13): a query string whose
// `hash` is checked exactly as Telegram documents ("Validating data received via the Mini App"):
//   secret_key = HMAC_SHA256(<bot_token>, "WebAppData")        (the key is the constant "WebAppData")
//   hash       = hex(HMAC_SHA256(data_check_string, secret_key))
// where data_check_string is every received field but `hash`, sorted by key, as `key=<value>` lines joined
// by "\n" (values decoded). `auth_date` says when Telegram signed it; older data is refused.

/** How old signed data may be: a Mini App left open over breakfast still works, last night's does not. */
export const INIT_DATA_MAX_AGE_MS = 24 * 3600_000;
/** Telegram's clock and ours may disagree a little. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface TelegramUser {
  /** Telegram's user id, as TELEGRAM_ALLOWED_USER_IDS lists it. */
  id: string;
  /** Their first name, as Telegram gives it. */
  name: string | null;
  authDate: Date;
}

/** The data-check-string of Telegram's documentation: every field but `hash`, sorted, `key=value` per line. */
export function dataCheckString(fields: URLSearchParams): string {
  return [...fields.entries()]
    .filter(([key]) => key !== "hash")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("\n");
}

export function initDataHash(fields: URLSearchParams, botToken: string): string {
  const secretKey = createHmac("sha256", "WebAppData").update(botToken).digest();
  return createHmac("sha256", secretKey).update(dataCheckString(fields)).digest("hex");
}

/**
 * The user Telegram vouches for in `initData`, or the refusal: a missing or wrong hash (ForbiddenError),
 * data older than `maxAgeMs` or dated in the future (UnauthorizedError), no user in it (ForbiddenError).
 * Whether that user may act is the caller's question (the allowlist).
 */
export function checkInitData(initData: string, botToken: string, now: Date, maxAgeMs = INIT_DATA_MAX_AGE_MS): TelegramUser {
  const fields = new URLSearchParams(initData);
  const hash = fields.get("hash");
  const keys = [...fields.keys()];
  if (!hash || !/^[0-9a-f]{64}$/.test(hash) || new Set(keys).size !== keys.length) {
    throw new ForbiddenError("Telegram's data for this page is not signed as Telegram signs it");
  }
  const expected = Buffer.from(initDataHash(fields, botToken), "hex");
  if (!timingSafeEqual(expected, Buffer.from(hash, "hex"))) {
    throw new ForbiddenError("Telegram's signature on this page's data does not match this bot");
  }
  const authDate = Number(fields.get("auth_date"));
  if (!Number.isInteger(authDate) || authDate <= 0) throw new ForbiddenError("Telegram's data for this page has no auth_date");
  const age = now.getTime() - authDate * 1000;
  if (age > maxAgeMs || age < -CLOCK_SKEW_MS) {
    throw new UnauthorizedError("Telegram's data for this page is too old: close the page and open it again from the chat");
  }
  let user: { id?: unknown; first_name?: unknown };
  try {
    user = JSON.parse(fields.get("user") ?? "null") ?? {};
  } catch {
    user = {};
  }
  if (typeof user.id !== "number" || !Number.isSafeInteger(user.id)) throw new ForbiddenError("Telegram's data for this page names no user");
  return { id: String(user.id), name: typeof user.first_name === "string" ? user.first_name : null, authDate: new Date(authDate * 1000) };
}
