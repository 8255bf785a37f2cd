import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Context, Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { platformInbox } from "../../src/chat/inbox.ts";
import { UnauthorizedError, ValidationError } from "../../src/shared/errors.ts";
import { bodyBound } from "../http/guards.ts";

// `POST /slack/events` (DESIGN §11): events, slash commands and interactivity on one route. The v0
// signature is checked on the raw bytes, the request is stored once in chat_updates (a retry finds
// its row) and acknowledged at once; Bolt handles it afterwards, from the inbox.

/** Slack refuses nothing older; we refuse anything further than this from our clock, either way. */
export const TIMESTAMP_WINDOW_S = 5 * 60;
const MAX_BODY = 1_000_000;

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>` under the signing secret. */
export function slackSignature(secret: string, timestamp: string, body: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

export type Verification = { ok: true } | { ok: false; why: string };

/** Checks a request's signature and timestamp; `nowMs` is the caller's clock. */
export function verifySlackRequest(secret: string, headers: { timestamp: string | undefined; signature: string | undefined }, body: string, nowMs: number): Verification {
  const { timestamp, signature } = headers;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, why: "missing or malformed X-Slack-Request-Timestamp" };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > TIMESTAMP_WINDOW_S) return { ok: false, why: "X-Slack-Request-Timestamp is more than 5 minutes away" };
  if (!signature) return { ok: false, why: "missing X-Slack-Signature" };
  const expected = Buffer.from(slackSignature(secret, timestamp, body));
  const given = Buffer.from(signature);
  // timingSafeEqual needs equal lengths; the length of a signature is no secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: "wrong X-Slack-Signature" };
  return { ok: true };
}

/** A verified request, as Bolt's processEvent wants its body. */
export type SlackBody = Record<string, unknown>;

/** Parses the three shapes Slack posts: JSON events, form-encoded slash commands, form-encoded `payload=` interactivity. */
export function parseSlackBody(raw: string, contentType: string): SlackBody | null {
  try {
    if (contentType.includes("application/json")) return JSON.parse(raw) as SlackBody;
    const form = new URLSearchParams(raw);
    const payload = form.get("payload");
    if (payload !== null) return JSON.parse(payload) as SlackBody;
    return Object.fromEntries(form.entries());
  } catch {
    return null;
  }
}

/** One id per request that a retry repeats: the event id, or the trigger of a command or tap. */
export function requestKey(body: SlackBody, raw: string): string {
  if (typeof body.event_id === "string") return `event:${body.event_id}`;
  if (typeof body.trigger_id === "string") return `trigger:${body.trigger_id}`;
  return `body:${createHash("sha256").update(raw).digest("hex")}`;
}

/** Slack's inbox: the shared chat inbox, keyed by event or trigger id, in arrival order. */
export class SlackInbox extends platformInbox<SlackBody>("slack", "arrival") {
  /** Stores a request; false when it was stored before (a retry). */
  async receiveRequest(key: string, body: SlackBody): Promise<boolean> {
    return (await this.receive([{ key, payload: body }])) > 0;
  }
}

/**
 * Mounts `POST /slack/events`: 413 for a body over 1 MB, 401 for a bad signature or a timestamp out
 * of the window (nothing is read further or stored), the url_verification challenge answered,
 * anything else stored and acknowledged with an empty 200 well within Slack's 3 seconds. Refusals
 * are thrown, for the HTTP app's onError to answer.
 */
export function mountSlackEvents(app: Hono, ctx: AppContext, secret: string, inbox: SlackInbox, log: (line: string) => void): void {
  app.post("/slack/events", bodyBound(MAX_BODY, "request"), async (c: Context) => {
    const raw = await c.req.text();
    const verified = verifySlackRequest(secret, { timestamp: c.req.header("x-slack-request-timestamp"), signature: c.req.header("x-slack-signature") }, raw, ctx.clock().getTime());
    if (!verified.ok) {
      log(`slack: refused a request to /slack/events: ${verified.why}`);
      throw new UnauthorizedError(verified.why);
    }
    const body = parseSlackBody(raw, c.req.header("content-type") ?? "");
    if (!body) throw new ValidationError("the body is neither JSON nor a Slack form");
    if (body.type === "url_verification") return c.json({ challenge: body.challenge });
    if (body.ssl_check) return c.body(null, 200);
    const retry = c.req.header("x-slack-retry-num");
    const fresh = await inbox.receiveRequest(requestKey(body, raw), body);
    if (!fresh && retry) log(`slack: retry ${retry} (${c.req.header("x-slack-retry-reason") ?? "?"}) of a request already stored; ignored`);
    return c.body(null, 200);
  });
}
