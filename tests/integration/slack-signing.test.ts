import { afterEach, describe, expect, it } from "vitest";
import { slackSignature, verifySlackRequest } from "../../handlers/slack/receiver.ts";
import { SIGNING_SECRET, slash, event, startSlackHarness, type SlackHarness } from "./slack-kit.ts";

// Slack's published example (api.slack.com/authentication/verifying-requests-from-slack).
const DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const DOC_TS = "1531420618";
const DOC_BODY =
  "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

describe("Slack request signing", () => {
  it("verifies Slack's published signing example", () => {
    expect(slackSignature(DOC_SECRET, DOC_TS, DOC_BODY)).toBe(DOC_SIGNATURE);
    expect(verifySlackRequest(DOC_SECRET, { timestamp: DOC_TS, signature: DOC_SIGNATURE }, DOC_BODY, Number(DOC_TS) * 1000 + 60_000)).toEqual({ ok: true });
    expect(verifySlackRequest(DOC_SECRET, { timestamp: DOC_TS, signature: DOC_SIGNATURE }, `${DOC_BODY}x`, Number(DOC_TS) * 1000).ok).toBe(false);
  });

  describe("at POST /slack/events", () => {
    let h: SlackHarness | null = null;
    afterEach(async () => {
      await h?.close();
      h = null;
    });

    const signedHeaders = (body: string, ts: number, secret = SIGNING_SECRET) => ({
      "x-slack-request-timestamp": String(ts),
      "x-slack-signature": slackSignature(secret, String(ts), body),
    });

    it("refuses with 401 a wrong signature, a stale or future timestamp and a body changed after signing, and stores none", async () => {
      h = await startSlackHarness();
      const now = Math.floor(h.clock.now().getTime() / 1000);
      const { body, contentType } = slash("task Sneaky #research @scout");
      const attempts: Record<string, string>[] = [
        signedHeaders(body, now, "not-the-secret"),
        signedHeaders(body, now - 301),
        signedHeaders(body, now + 301),
        { "x-slack-request-timestamp": String(now) },
        {},
      ];
      for (const headers of attempts) expect((await h.post(body, contentType, headers)).status).toBe(401);
      // Signed, then changed.
      expect((await h.post(body.replace("Sneaky", "Sneakz"), contentType, signedHeaders(body, now))).status).toBe(401);
      // Within the window either way is fine.
      expect((await h.post(body, contentType, signedHeaders(body, now - 290))).status).toBe(200);
      await h.settle();
      expect((await h.ctx.db.query("SELECT update_id FROM chat_updates")).length).toBe(1);
      expect((await h.ctx.db.query("SELECT id FROM tasks")).length).toBe(1);
      expect(h.logs.filter((l) => l.includes("refused a request"))).toHaveLength(6);
    });

    it("answers the url_verification challenge", async () => {
      h = await startSlackHarness();
      const body = JSON.stringify({ token: "x", challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", type: "url_verification" });
      const response = await h.post(body, "application/json", signedHeaders(body, Math.floor(h.clock.now().getTime() / 1000)));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
    });

    it("handles an event once however often Slack retries it", async () => {
      h = await startSlackHarness();
      const request = event({ type: "message", channel_type: "im", channel: "D0OWNER", user: "U0OWNER", text: "task Once #research @scout" }, "Ev0RETRY");
      const ts = Math.floor(h.clock.now().getTime() / 1000);
      for (const retry of [null, "1", "2"]) {
        const response = await h.post(request.body, request.contentType, { ...signedHeaders(request.body, ts), ...(retry ? { "x-slack-retry-num": retry, "x-slack-retry-reason": "http_timeout" } : {}) });
        expect(response.status).toBe(200);
      }
      await h.settle();
      expect((await h.ctx.db.query("SELECT title FROM tasks")).map((r) => r.title)).toEqual(["Once"]);
      expect(h.fake.ok("chat.postMessage").filter((c) => c.params.channel === "D0OWNER")).toHaveLength(1);
    });
  });
});
