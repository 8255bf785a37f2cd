import { describe, expect, it } from "vitest";
import { createHttpApp } from "../../handlers/http/app.ts";
import { SlackInbox, mountSlackEvents } from "../../handlers/slack/receiver.ts";
import { TelegramInbox, mountWebhook } from "../../handlers/telegram/inbox.ts";
import { cleanupAfterEach, tempAppWithEnv } from "../helpers.ts";

// Every refusal over HTTP comes from one mapping: the API's body for the API and the webhooks,
// JSON-RPC's for /mcp. Tested in-process with app.request, as hono tests its apps.

const TOKEN = "api-secret-token";
const SECRET = "s3cret-Telegram-webhook-0123456789";

describe("refusals over HTTP", () => {
  const later = cleanupAfterEach();

  async function app() {
    const { ctx } = await tempAppWithEnv(later, { agents: { scout: { command: ["true"] } } }, { COS_API_TOKEN: TOKEN });
    const http = createHttpApp(ctx);
    mountWebhook(http, SECRET, new TelegramInbox(ctx, async () => {}, () => {}));
    mountSlackEvents(http, ctx, "slack-signing-secret", new SlackInbox(ctx, async () => {}, () => {}), () => {});
    return { ctx, http };
  }

  /** A body sent in chunks, without Content-Length, as a client streaming it would. */
  const streamed = (bytes: number) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let sent = 0; sent < bytes; sent += 64 * 1024) controller.enqueue(new Uint8Array(Math.min(64 * 1024, bytes - sent)).fill(32));
        controller.close();
      },
    });

  it("answers a malformed Authorization header with the API's 401, not bearer-auth's plain-text 400", async () => {
    const { http } = await app();
    for (const authorization of ["Basic dXNlcjpwYXNz", "Bearer not a token!", `Bearer ${TOKEN}x`]) {
      const response = await http.request("/api/tasks", { headers: { authorization } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: { code: "unauthorized", message: "missing or wrong bearer token (the JSON API takes COS_API_TOKEN)" } });
    }
    expect((await http.request("/api/tasks", { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it("answers the webhooks' refusals in the API's shape: wrong secret 401, too large 413, not JSON 400", async () => {
    const { ctx, http } = await app();
    const webhook = (headers: Record<string, string>, body: BodyInit) =>
      http.request("/telegram/webhook", { method: "POST", headers: { "content-type": "application/json", ...headers }, body, duplex: "half" } as RequestInit);

    const wrong = await webhook({ "x-telegram-bot-api-secret-token": "wrong" }, JSON.stringify({ update_id: 1 }));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: "unauthorized", message: "missing or wrong X-Telegram-Bot-Api-Secret-Token" } });

    const large = await webhook({ "x-telegram-bot-api-secret-token": SECRET }, streamed(1_100_000));
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({ error: { code: "too_large", message: "update too large" } });

    const notJson = await webhook({ "x-telegram-bot-api-secret-token": SECRET }, "{ nope");
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error).toEqual({ code: "validation", message: "the body must be a JSON update" });

    const slack = await http.request("/slack/events", { method: "POST", body: streamed(1_100_000), duplex: "half" } as RequestInit);
    expect(slack.status).toBe(413);
    expect((await slack.json()).error.code).toBe("too_large");
    expect(await ctx.db.query("SELECT 1 FROM chat_updates")).toEqual([]);
  });

  it("answers /mcp without a known run token with a JSON-RPC error and 401", async () => {
    const { http } = await app();
    const response = await http.request("/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      jsonrpc: "2.0",
      error: { code: -32001, message: "missing or unknown run token: send Authorization: Bearer $COS_MCP_TOKEN" },
      id: null,
    });
  });
});
