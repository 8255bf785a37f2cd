import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkInitData, dataCheckString, INIT_DATA_MAX_AGE_MS } from "../../src/pages/telegram-init-data.ts";
import { ForbiddenError, UnauthorizedError } from "../../src/shared/errors.ts";

// Telegram's "Validating data received via the Mini App", step by step: the data-check-string is every
// received field but `hash`, sorted by key, `key=<value>` joined by "\n"; the secret key is
// HMAC_SHA256(<bot_token>, "WebAppData") (the constant is the key); the hash is the hex HMAC-SHA256 of the
// data-check-string under it. `auth_date` guards against old data.

const TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const NOW = new Date("2026-11-24T07:30:00Z");
const USER = JSON.stringify({ id: 279058397, first_name: "Vladislav", username: "vdkfrost", language_code: "ru", is_premium: true });

/** Signs the fields as the documentation says, written out here apart from the code under test. */
function signed(fields: [string, string][], token = TOKEN): string {
  const check = [...fields].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join("\n");
  const secret = createHmac("sha256", "WebAppData").update(token).digest();
  const hash = createHmac("sha256", secret).update(check).digest("hex");
  const query = new URLSearchParams(fields);
  query.append("hash", hash);
  return query.toString();
}

const authDate = (d: Date) => String(Math.floor(d.getTime() / 1000));
const fields = (over: Record<string, string> = {}): [string, string][] =>
  Object.entries({ query_id: "AAHdF6IQAAAAAN0XohDhrOrc", user: USER, auth_date: authDate(NOW), ...over });

const refusal = (initData: string, now = NOW): Error => {
  try {
    checkInitData(initData, TOKEN, now);
  } catch (error) {
    return error as Error;
  }
  throw new Error("accepted");
};

describe("Telegram's initData", () => {
  it("builds the data-check-string as documented: sorted key=value lines, without hash, values decoded", () => {
    const query = new URLSearchParams([["user", USER], ["auth_date", "1662771648"], ["hash", "ab"], ["query_id", "AAHd"]]);
    expect(dataCheckString(query)).toBe(`auth_date=1662771648\nquery_id=AAHd\nuser=${USER}`);
  });

  it("accepts data signed with the bot's token and names its user, whatever the order of the fields", () => {
    const shuffled = fields().reverse();
    expect(checkInitData(signed(shuffled), TOKEN, NOW)).toEqual({ id: "279058397", name: "Vladislav", authDate: new Date(Number(authDate(NOW)) * 1000) });
    // Newer clients send more fields (a third-party `signature`, chat_instance, chat_type): all are signed.
    const more = fields({ chat_instance: "-1665603357231526432", chat_type: "sender", signature: "T8aGLlGIWqc7wWiLgMv5eGgq" });
    expect(checkInitData(signed(more), TOKEN, NOW).id).toBe("279058397");
  });

  it("refuses a changed field, an added one, another bot's signature, no hash and a repeated field", () => {
    const good = signed(fields());
    expect(refusal(good.replace("Vladislav", "Mallory"))).toBeInstanceOf(ForbiddenError);
    expect(refusal(`${good}&start_param=x`)).toBeInstanceOf(ForbiddenError);
    expect(refusal(signed(fields(), "999:another-bot"))).toBeInstanceOf(ForbiddenError);
    expect(refusal(new URLSearchParams(fields()).toString())).toBeInstanceOf(ForbiddenError);
    expect(refusal(`${good}&user=${encodeURIComponent(USER)}`)).toBeInstanceOf(ForbiddenError);
    expect(refusal("")).toBeInstanceOf(ForbiddenError);
  });

  it("refuses data older than a day, or dated ahead of the clock by more than a few minutes", () => {
    const old = new Date(NOW.getTime() - INIT_DATA_MAX_AGE_MS - 1000);
    expect(refusal(signed(fields({ auth_date: authDate(old) })))).toBeInstanceOf(UnauthorizedError);
    expect(checkInitData(signed(fields({ auth_date: authDate(new Date(NOW.getTime() - INIT_DATA_MAX_AGE_MS + 1000)) })), TOKEN, NOW).id).toBe("279058397");
    expect(refusal(signed(fields({ auth_date: authDate(new Date(NOW.getTime() + 3600_000)) })))).toBeInstanceOf(UnauthorizedError);
    expect(checkInitData(signed(fields({ auth_date: authDate(new Date(NOW.getTime() + 60_000)) })), TOKEN, NOW).id).toBe("279058397");
  });

  it("refuses signed data that names no user", () => {
    expect(refusal(signed(fields({ user: "{}" })))).toBeInstanceOf(ForbiddenError);
    expect(refusal(signed(fields({ user: "not json" })))).toBeInstanceOf(ForbiddenError);
  });
});
