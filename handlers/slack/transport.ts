import { webApi } from "@slack/bolt";
import type { Notification } from "../../src/chat/types.ts";
import { DeliveryError, editedInPlace, type Posted, type Transport } from "../../src/outbox/outbox.ts";
import { notificationMessagesTracked, type RenderOptions, type SlackMessage } from "./render.ts";

export interface SlackTransportOptions extends RenderOptions {
  channel: string;
  /** Waits between the parts of a split message; tests shorten it. */
  sleep?: (ms: number) => Promise<void>;
}

/** A pause this long or shorter is waited out inside a delivery rather than handed back to the outbox. */
const INLINE_WAIT_MAX_MS = 20_000;
const INLINE_RETRIES = 4;

/** A client for the outbox: no retries of its own, a 429 thrown at once so the outbox honours Retry-After. */
export function outboxClient(token: string, slackApiUrl: string | undefined): webApi.WebClient {
  return new webApi.WebClient(token, {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: webApi.LogLevel.ERROR,
  });
}

/**
 * The outbox's Slack transport. A review card is posted to SLACK_CHANNEL_ID and remembered as
 * "channel:ts" so that its verdict edits it (chat.update); the rest is posted as one or more
 * Block Kit messages. A failure of a split message's later part is waited out here (honouring
 * Retry-After), not by the outbox, which would post the first parts again.
 */
export function slackTransport(client: webApi.WebClient, options: SlackTransportOptions): Transport {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  async function postLater(m: { text: string; blocks: unknown[] }, failure: DeliveryError): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const wait = failure.retryAfterMs ?? 1000 * 2 ** attempt;
      if (failure.permanent || attempt >= INLINE_RETRIES || wait > INLINE_WAIT_MAX_MS) {
        throw new DeliveryError(`a later part of a split message failed: ${failure.message}`, null, true);
      }
      await sleep(wait);
      try {
        await client.chat.postMessage({ channel: options.channel, text: m.text, blocks: m.blocks as never, unfurl_links: false });
        return;
      } catch (error) {
        failure = toDeliveryError(error);
      }
    }
  }

  /** Edits the message at `ref`; false when it is gone or can no longer be edited. */
  async function edit(ref: string, m: SlackMessage): Promise<boolean> {
    const [channel, ts] = splitRef(ref);
    try {
      await client.chat.update({ channel, ts, text: m.text, blocks: m.blocks as never });
      return true;
    } catch (error) {
      if (platformError(error) && /message_not_found|cant_update_message/.test(platformError(error)!)) return false;
      throw toDeliveryError(error);
    }
  }

  return {
    platform: "slack",
    async deliver(notification: Notification, refs: string[]): Promise<{ posted: Posted[] }> {
      const tracked = notificationMessagesTracked(notification, options);
      // Every copy of a card deleted or too old to edit (or none posted): the decided card is posted afresh.
      if (await editedInPlace(notification, refs, (ref) => edit(ref, tracked[0]!.message))) return { posted: [] };
      const posted: Posted[] = [];
      let first: string | null = null;
      for (const { message: m, card } of tracked) {
        let ref: string | null = null;
        try {
          const sent = await client.chat.postMessage({ channel: options.channel, text: m.text, blocks: m.blocks as never, unfurl_links: false });
          ref = messageRef(sent.channel ?? options.channel, sent.ts!);
        } catch (error) {
          if (first === null) throw toDeliveryError(error);
          // The first part is out, so the outbox must not send the row again: later parts wait here.
          await postLater(m, toDeliveryError(error));
        }
        first ??= ref;
        if (ref && card) posted.push({ ref, taskId: card.taskId, attempt: card.attempt, kind: "card" });
      }
      if (notification.kind === "run_started" && first) posted.push({ ref: first, taskId: notification.taskId, attempt: notification.attempt, kind: "run" });
      return { posted };
    },
  };
}

/** Slack's address of a message: "channel:ts". */
export const messageRef = (channel: string, ts: string) => `${channel}:${ts}`;

export function splitRef(ref: string): [string, string] {
  const at = ref.indexOf(":");
  return [ref.slice(0, at), ref.slice(at + 1)];
}

function platformError(error: unknown): string | null {
  const e = error as { code?: string; data?: { error?: string } };
  return e?.code === webApi.ErrorCode.PlatformError ? (e.data?.error ?? "unknown") : null;
}

/** Slack's answer as the outbox's kind of failure: 429 carries Retry-After. */
export function toDeliveryError(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const e = error as { code?: string; retryAfter?: number; statusCode?: number; message?: string };
  switch (e?.code) {
    case webApi.ErrorCode.RateLimitedError:
      return new DeliveryError(`rate limited: ${e.message ?? ""}`, (e.retryAfter ?? 5) * 1000);
    case webApi.ErrorCode.PlatformError: {
      const code = platformError(error)!;
      // A channel or token Slack refuses does not get better by waiting; invalid_auth may once fixed.
      return new DeliveryError(`slack: ${code}`, null, /channel_not_found|not_in_channel|is_archived|invalid_blocks|msg_too_long|no_text/.test(code));
    }
    case webApi.ErrorCode.HTTPError:
      return new DeliveryError(`slack: HTTP ${e.statusCode}`);
    default:
      return new DeliveryError(error instanceof Error ? error.message : String(error));
  }
}
