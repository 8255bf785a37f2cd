import { GrammyError, HttpError } from "grammy";
import { describe, expect, it } from "vitest";
import { splitRef, toDeliveryError } from "../../handlers/telegram/transport.ts";

const telegramSays = (error_code: number, description: string, retry_after?: number) =>
  new GrammyError(`Call to 'sendMessage' failed! (${error_code}: ${description})`, { ok: false, error_code, description, ...(retry_after ? { parameters: { retry_after } } : {}) }, "sendMessage", {});

describe("Telegram delivery errors", () => {
  it("waits what a 429 says, retries 5xx and network failures, and gives up on what waiting cannot fix", () => {
    expect(toDeliveryError(telegramSays(429, "Too Many Requests: retry after 35", 35))).toMatchObject({ retryAfterMs: 35_000, permanent: false });
    expect(toDeliveryError(telegramSays(502, "Bad Gateway"))).toMatchObject({ retryAfterMs: null, permanent: false });
    expect(toDeliveryError(new HttpError("Network request for 'sendMessage' failed!", new Error("ECONNREFUSED")))).toMatchObject({ retryAfterMs: null, permanent: false });
    expect(toDeliveryError(telegramSays(400, "Bad Request: chat not found"))).toMatchObject({ permanent: true });
    expect(toDeliveryError(telegramSays(403, "Forbidden: bot was blocked by the user"))).toMatchObject({ permanent: true });
    // A wrong token may be fixed by the operator: keep the notification.
    expect(toDeliveryError(telegramSays(401, "Unauthorized"))).toMatchObject({ permanent: false });
  });

  it("reads a card's stored place, group chat ids included", () => {
    expect(splitRef("-1001234567890:42")).toEqual(["-1001234567890", 42]);
    expect(splitRef("111:7")).toEqual(["111", 7]);
  });
});
